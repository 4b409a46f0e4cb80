import Foundation

/// A model configuration file is unreadable or inconsistent.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}

/// A JSON object from a model folder (`config.json`, `scheduler_config.json`, `model_index.json`,
/// `imagine.json`) with typed reads that name the file and the key when a value has the wrong type.
/// JSON `null` reads as absent, as diffusers treats `null` as "use the default".
///
/// Decoded with JSONDecoder rather than JSONSerialization: the latter has read decimals 2 ulps off
/// on Linux (0.578948974609375; scheduler betas must be exact) and hands back `true` as the number
/// 1, so a boolean where a count belongs would pass. JSON5, because Python writes non-finite
/// floats as `-Infinity` (DPM-Solver's default `lambda_min_clipped`).
struct ConfigJSON {
    /// Where the object came from, for error messages.
    let file: String
    let object: [String: JSONValue]

    init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigError(file: url.path, reason: "cannot read the file")
        }
        try self.init(data: data, file: url.path)
    }

    /// The file at `url`, or nil when there is none (optional files: `imagine.json`, `model_index.json`).
    static func ifPresent(_ url: URL) throws -> ConfigJSON? {
        FileManager.default.fileExists(atPath: url.path) ? try ConfigJSON(contentsOf: url) : nil
    }

    init(data: Data, file: String) throws {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        guard case .object(let object)? = try? decoder.decode(JSONValue.self, from: data) else {
            throw ConfigError(file: file, reason: "not a JSON object")
        }
        self.init(object: object, file: file)
    }

    init(object: [String: JSONValue], file: String) {
        self.file = file
        self.object = object
    }

    func fail(_ reason: String) -> ConfigError { ConfigError(file: file, reason: reason) }

    /// The value of `key`; nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        if case .null? = object[key] { return nil }
        return object[key]
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    /// A `vae/` folder may hold either autoencoder; loading it as the other must fail by name.
    func requireClass(_ name: String) throws {
        if let actual = try string("_class_name"), actual != name {
            throw fail("'_class_name' = \"\(actual)\", expected \"\(name)\"")
        }
    }

    /// The object under `key` (a `CLIPConfig`'s `text_config`), read with the same file name.
    func object(_ key: String) throws -> ConfigJSON? {
        guard let value = value(key) else { return nil }
        guard case .object(let nested) = value else { throw wrongType(key, "an object", value) }
        return ConfigJSON(object: nested, file: file)
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let string) = value else { throw wrongType(key, "a string", value) }
        return string
    }

    func strings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else { throw wrongType(key, "a list of names", value) }
        return try elements.map { element in
            guard case .string(let string) = element else { throw wrongType(key, "a list of names", value) }
            return string
        }
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let bool) = value else { throw wrongType(key, "true or false", value) }
        return bool
    }

    func double(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "a number", value) }
        return number
    }

    func float(_ key: String) throws -> Float? { try double(key).map(Float.init) }

    /// An integer (`2.0` counts; `2.5` and `true` do not).
    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.integer else { throw wrongType(key, "an integer", value) }
        return number
    }

    /// An integer in `range`.
    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.integer, range.contains(number) else {
            throw wrongType(key, "an integer in \(range.lowerBound)...\(range.upperBound)", value)
        }
        return number
    }

    /// A list of integers; a single integer reads as a one-element list (diffusers accepts both
    /// for per-block values such as `attention_head_dim`).
    func ints(_ key: String) throws -> [Int]? {
        guard let value = value(key) else { return nil }
        if let number = value.integer { return [number] }
        guard case .array(let elements) = value else { throw wrongType(key, "an integer or a list", value) }
        return try elements.map { element in
            guard let number = element.integer else { throw wrongType(key, "an integer or a list", value) }
            return number
        }
    }

    func doubles(_ key: String) throws -> [Double]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else { throw wrongType(key, "a list of numbers", value) }
        return try elements.map { element in
            guard case .number(let number) = element else { throw wrongType(key, "a list of numbers", value) }
            return number
        }
    }

    func floats(_ key: String) throws -> [Float]? { try doubles(key)?.map(Float.init) }

    /// A list of equal-length number lists (a matrix by rows).
    func floatRows(_ key: String) throws -> [[Float]]? {
        guard let value = value(key) else { return nil }
        let problem = "a list of equal-length number lists"
        guard case .array(let rows) = value else { throw wrongType(key, problem, value) }
        let matrix: [[Float]] = try rows.map { row in
            guard case .array(let elements) = row else { throw wrongType(key, problem, value) }
            return try elements.map { element in
                guard case .number(let number) = element else { throw wrongType(key, problem, value) }
                return Float(number)
            }
        }
        guard let width = matrix.first?.count, matrix.allSatisfy({ $0.count == width }) else {
            throw wrongType(key, problem, value)
        }
        return matrix
    }

    /// One of an enumeration's raw names.
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String) throws -> Choice?
    where Choice.RawValue == String {
        guard let name = try string(key) else { return nil }
        guard let choice = Choice(rawValue: name) else {
            let names = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw fail("'\(key)' \"\(name)\" is not one of \(names)")
        }
        return choice
    }

    private func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> ConfigError {
        fail("'\(key)' must be \(expected), got \(value.text)")
    }
}

/// Any JSON value, as JSONDecoder reads it (booleans apart from numbers).
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// The number when it is a whole number that fits an Int.
    var integer: Int? {
        guard case .number(let number) = self, number.rounded() == number,
              Double(Int.min) <= number, number < Double(Int.max) else { return nil }
        return Int(number)
    }

    /// The value as it would be written in JSON, for error messages.
    var text: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): integer.map(String.init) ?? "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[\(values.map(\.text).joined(separator: ", "))]"
        case .object: "an object"
        }
    }
}
