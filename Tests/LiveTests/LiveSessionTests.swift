import Kernels
import Live
import Testing

@Suite struct LiveSessionTests {
    @Test func startRendersTheEmptyPromptSoAPictureAppearsBeforeTyping() {
        let h = SessionHarness()
        h.session.start()
        #expect(h.jobs.count == 1)
        #expect(h.lastJob.kind == .preview && h.lastJob.request.prompt == "")
        #expect(h.lastJob.request.steps == 1 && h.lastJob.request.width == 32 && h.lastJob.request.decoder == .latent)
        #expect(h.lastJob.request.seed == 42)
    }

    @Test func everyKeyThatChangesThePromptStartsOnePreviewAtTheSessionSeed() {
        let h = SessionHarness()
        h.session.start()
        h.type("cat")
        #expect(h.jobs.map(\.request.prompt) == ["", "c", "ca", "cat"])
        #expect(h.jobs.allSatisfy { $0.kind == .preview && $0.request.seed == 42 })
        #expect(Set(h.jobs.map(\.id)).count == 4)
    }

    @Test func keysThatLeaveThePromptAsItWasRenderNothing() {
        let h = SessionHarness()
        h.session.start()
        h.type("a cat")
        let count = h.jobs.count
        for key: EditKey in [.left, .home, .end, .right, .historyNext, .delete] { h.session.handle(.edit(key)) }
        h.type("  ")  // trailing spaces: the tokenizer sees the same prompt
        h.session.handle(.edit(.home))
        h.type(" ")   // leading space, likewise
        #expect(h.jobs.count == count)
        h.session.handle(.edit(.end))
        h.type("s")
        #expect(h.lastJob.request.prompt == "a cat s")
    }

    @Test func typingBackToAnEarlierPromptRendersItAgain() {
        let h = SessionHarness()
        h.type("ab")
        h.session.handle(.edit(.backspace))
        h.type("b")
        #expect(h.jobs.map(\.request.prompt) == ["a", "ab", "a", "ab"])
    }

    @Test func reseedDrawsANewSeedAndRendersWithIt() {
        let h = SessionHarness()
        h.type("fox")
        h.session.handle(.reseed)
        #expect(h.session.seed == 1001 && h.session.status.seed == 1001)
        #expect(h.lastJob.request.prompt == "fox" && h.lastJob.request.seed == 1001)
        h.type("y")
        #expect(h.lastJob.request.seed == 1001)
    }

    @Test func aRandomSeedIsDrawnWhenNoneIsGiven() {
        let h = SessionHarness(seed: nil)
        #expect(h.session.seed == 1001)
    }

    @Test func refineStartsAfterThePauseOnceThePreviewIsOnScreen() {
        let h = SessionHarness()
        h.type("owl")
        h.finish(h.lastJob)
        #expect(h.session.nextDeadline == h.clock.now + 0.3)
        h.wait(0.2)
        #expect(h.lastJob.kind == .preview)
        h.wait(0.11)
        #expect(h.lastJob.kind == .refine)
        #expect(h.lastJob.request.prompt == "owl" && h.lastJob.request.steps == 8)
        #expect(h.lastJob.request.width == 64 && h.lastJob.request.decoder == .vae)
        #expect(h.session.nextDeadline == nil)
        #expect(h.session.status.refineProgress?.steps == 8)
        h.session.handle(.render(.progress(h.lastJob, step: 3, of: 8)))
        #expect(h.session.status.text.contains("refining 3/8"))
        h.finish(h.lastJob)
        #expect(h.session.status.showingRefined && h.session.status.refineProgress == nil)
        // Refined once: further pauses render nothing.
        h.wait(5)
        #expect(h.jobs.filter { $0.kind == .refine }.count == 1)
        #expect(h.session.nextDeadline == nil)
    }

    @Test func eachKeyRestartsThePause() {
        let h = SessionHarness()
        h.type("o")
        h.finish(h.lastJob)
        h.clock.now += 0.25
        h.type("w")
        h.finish(h.lastJob)
        h.wait(0.25)
        #expect(!h.jobs.contains { $0.kind == .refine })
        h.wait(0.06)
        #expect(h.lastJob.kind == .refine && h.lastJob.request.prompt == "ow")
    }

    @Test func aPreviewFinishingAfterThePauseIsRefinedAtOnce() {
        let h = SessionHarness()
        h.type("slow")
        h.wait(1)  // the preview is still rendering: nothing to refine yet
        #expect(h.lastJob.kind == .preview)
        h.finish(h.lastJob)
        #expect(h.lastJob.kind == .refine)
    }

    @Test func anyKeyAbandonsTheRefineAndThePauseStartsOver() {
        let h = SessionHarness()
        h.type("cat")
        h.finish(h.lastJob)
        h.wait(0.3)
        let refine = h.lastJob
        #expect(refine.kind == .refine)
        h.session.handle(.edit(.left))  // does not change the prompt, still abandons the refine
        #expect(h.scheduler.cancelCount == 1)
        #expect(h.session.status.refineProgress == nil)
        h.cancel(refine)
        #expect(h.session.cancelledRenders == 1)
        #expect(h.lastJob.id == refine.id)
        h.wait(0.3)
        #expect(h.lastJob.kind == .refine && h.lastJob.id != refine.id)
    }

    @Test func aKeyThatChangesThePromptDuringARefineStartsAPreview() {
        let h = SessionHarness()
        h.type("cat")
        h.finish(h.lastJob)
        h.wait(0.3)
        h.type("s")
        #expect(h.scheduler.cancelCount == 1)
        #expect(h.lastJob.kind == .preview && h.lastJob.request.prompt == "cats")
    }

    @Test func aStalePictureNeverReplacesANewerOne() {
        let h = SessionHarness()
        h.type("ab")
        let (a, ab) = (h.jobs[0], h.jobs[1])
        h.finish(ab)
        h.finish(a)  // passed its last cancellation check before "b" arrived
        #expect(h.session.image?.job.id == ab.id)
    }

    @Test func whenPreviewsRenderFasterThanKeysComeTheNewestKeyCancelsTheOneInFlight() {
        let h = SessionHarness()
        h.session.start()
        h.finish(h.lastJob, renderSeconds: 0.02)
        for character in "cat" {
            h.clock.now += 0.1
            h.session.handle(.edit(.insert(String(character))))
            h.clock.now += 0.02
            h.finish(h.lastJob, renderSeconds: 0.02)
        }
        #expect(h.scheduler.cancellingRunning == [true, true, true, true])
    }

    @Test func whenKeysComeFasterThanPreviewsRenderTheOneInFlightFinishes() {
        let h = SessionHarness()
        h.session.start()
        h.finish(h.lastJob, renderSeconds: 1.3)
        h.clock.now += 5
        h.type("c")  // the first key after a long pause: nothing worth keeping is in flight
        for character in "at" {
            h.clock.now += 0.1
            h.session.handle(.edit(.insert(String(character))))
        }
        #expect(h.scheduler.cancellingRunning == [true, true, false, false])
        // Once previews get quick again, latest wins again.
        h.finish(h.lastJob, renderSeconds: 0.05)
        h.clock.now += 0.1
        h.type("s")
        #expect(h.scheduler.cancellingRunning.last == true)
    }

    @Test func beforeAnyPreviewHasFinishedTheWaitSoFarDecides() {
        let h = SessionHarness()
        h.session.start()  // the empty prompt's preview never finishes while we type
        for character in "cats" {
            h.clock.now += 0.1
            h.session.handle(.edit(.insert(String(character))))
        }
        // "c" came 0.1 s after the first request; by "a" the wait (0.2 s) outlasts a key gap.
        #expect(h.scheduler.cancellingRunning == [true, true, false, false, false])
    }

    @Test func previewLatencyRunsFromTheKeyToThePicture() {
        let h = SessionHarness()
        h.type("x")
        h.clock.now += 0.042
        h.finish(h.lastJob)
        #expect(h.session.status.previewLatencyMs == 42)
        #expect(h.session.status.text.contains("42 ms"))
    }

    @Test func enterSavesTheRefinedPictureWithoutRenderingAgain() {
        let h = SessionHarness()
        h.type("moon")
        h.finish(h.lastJob)
        h.wait(0.3)
        h.finish(h.lastJob)
        let count = h.jobs.count
        h.session.handle(.enter)
        #expect(h.jobs.count == count)
        #expect(h.savedImages.map(\.job.kind) == [.refine])
        #expect(h.session.status.message == .saved(path: "/out/moon.png"))
        #expect(h.session.editor.history == ["moon"])
    }

    @Test func enterBeforeTheRefineRendersAFullQualitySaveThatTypingCannotCancel() {
        let h = SessionHarness()
        h.type("sun")
        h.session.handle(.enter)
        let save = h.lastJob
        #expect(save.kind == .save && !save.isCancellable)
        #expect(save.request.steps == 8 && save.request.width == 64 && save.request.decoder == .vae)
        #expect(h.session.status.message == .saving)
        h.session.handle(.enter)  // the same save is already on its way
        #expect(h.jobs.filter { $0.kind == .save }.count == 1)
        h.type("s")
        h.finish(save)
        #expect(h.savedImages.map(\.job.request.prompt) == ["sun"])
        #expect(h.session.status.message == .saved(path: "/out/sun.png"))
    }

    @Test func aFailedSaveOrRenderShowsTheErrorOnTheStatusLine() {
        struct DiskFull: Error, CustomStringConvertible { var description: String { "disk full" } }
        let h = SessionHarness()
        h.saveError = DiskFull()
        h.type("x")
        h.session.handle(.enter)
        h.finish(h.lastJob)
        #expect(h.session.status.message == .error("disk full"))
        h.type("y")
        h.session.handle(.render(.failed(h.lastJob, message: "out of memory")))
        #expect(h.session.status.text.contains("error: out of memory"))
    }

    @Test func aTenThousandCharacterPasteIsOneRender() {
        let h = SessionHarness()
        let paste = String(repeating: "a painted fox ", count: 715)  // 10,010 characters
        h.session.handle(.edit(.insert(PromptText.sanitized(bytes: Array(paste.utf8)))))
        #expect(h.jobs.count == 1)
        #expect(h.session.editor.text.count == 10_010)
    }

    @Test func aThousandKeyBurstKeepsOneJobPerKeyAndNothingElse() {
        let h = SessionHarness()
        h.type(String(repeating: "ab", count: 500))
        #expect(h.jobs.count == 1_000)
        h.finish(h.lastJob)
        #expect(h.session.image?.job.request.prompt.count == 1_000)
    }

    @Test func escapeAndCtrlCQuit() {
        let h = SessionHarness()
        #expect(!h.session.wantsToQuit)
        h.session.handle(.quit)
        #expect(h.session.wantsToQuit)
    }

    @Test func theStatusLineNamesModelSeedStepsPreviewAndLatency() {
        let h = SessionHarness()
        #expect(h.session.status.text == "tiny · seed 42 · steps 1/8 · – ms · preview 32² latent")
        var status = h.session.status
        status.compute = "bf16, SkylakeX"
        #expect(status.text == "tiny · bf16, SkylakeX · seed 42 · steps 1/8 · – ms · preview 32² latent")
    }
}
