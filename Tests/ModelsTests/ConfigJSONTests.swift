import Foundation
@testable import Models
import Testing

/// The one reader every model config goes through.
@Suite struct ConfigJSONTests {
    private func read(_ json: String) throws -> ConfigJSON {
        try ConfigJSON(data: Data(json.utf8), file: "/models/x/config.json")
    }

    @Test func decimalsReadExactly() throws {
        let json = try read(#"{"beta": 0.578948974609375, "start": 0.00085, "eps": 1e-5}"#)
        #expect(try json.double("beta") == 0.578948974609375)
        #expect(try json.double("start") == 0.00085)
        #expect(try json.float("eps") == 1e-5)
    }

    @Test func booleansAndNumbersStayApart() throws {
        let json = try read(#"{"count": true, "flag": 1, "whole": 2.0, "half": 2.5}"#)
        #expect(throws: ConfigError.self) { try json.int("count") }
        #expect(throws: ConfigError.self) { try json.bool("flag") }
        #expect(try json.int("whole") == 2)
        let error = #expect(throws: ConfigError.self) { try json.int("half") }
        #expect(error?.description == "/models/x/config.json: 'half' must be an integer, got 2.5")
    }

    @Test func nullAndAbsentKeysReadAsAbsent() throws {
        let json = try read(#"{"trained_betas": null, "lambda_min_clipped": -Infinity}"#)
        #expect(try json.doubles("trained_betas") == nil)
        #expect(try json.int("missing") == nil)
        #expect(!json.has("trained_betas"))
        #expect(try json.double("lambda_min_clipped") == -.infinity)
    }

    @Test func aSingleIntegerIsAOneElementList() throws {
        let json = try read(#"{"heads": 8, "levels": [5, 10, 20, 20], "bad": [1, "x"]}"#)
        #expect(try json.ints("heads") == [8])
        #expect(try json.ints("levels") == [5, 10, 20, 20])
        #expect(throws: ConfigError.self) { try json.ints("bad") }
    }

    @Test func notAnObjectNamesTheFile() {
        let error = #expect(throws: ConfigError.self) { try read("[1, 2]") }
        #expect(error == ConfigError(file: "/models/x/config.json", reason: "not a JSON object"))
    }
}
