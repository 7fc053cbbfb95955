import NIOCore
import Testing

@testable import CanalEngineIOCore

/// The same polling GET sent again (same `t`), as a proxy retries it when the server that
/// was relaying the answer died: it gets the same answer again, and new packets wait.
extension EngineSessionStateTests {
    @Test func serverAnswersARepeatedHeldPollAgainAndKeepsNewPacketsForTheNext() {
        var state = polling()
        #expect(state.pollArrived(now: start, requestID: "t1") == .hold)
        _ = state.send(message("lost"))
        #expect(state.flushPoll() == .respondToPoll([message("lost")]))
        _ = state.send(message("new"))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("lost")]))
        #expect(state.pendingPacketCount == 1)
        #expect(state.pollArrived(now: start, requestID: "t2") == .respond([message("new")]))
    }

    @Test func serverAnswersARepeatedImmediatePollAgainAsOftenAsItComes() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        #expect(state.pollArrived(now: start, requestID: "t2") == .hold)
    }

    @Test func serverAnswersARepeatedPollThatGotAPingWithThePing() {
        var state = polling()
        #expect(state.pollArrived(now: start, requestID: "t1") == .hold)
        #expect(state.tick(now: start + .milliseconds(100)) == [.respondToPoll([.ping])])
        #expect(state.pollArrived(now: start + .milliseconds(110), requestID: "t1") == .respond([.ping]))
    }

    @Test func serverReleasesTheKeptAnswerAtAPollWithAnotherT() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        _ = state.send(message("b"))
        #expect(state.pollArrived(now: start, requestID: "t2") == .respond([message("b")]))
        // t1 again is a stale retry: its answer is gone, the poll is an ordinary one.
        #expect(state.pollArrived(now: start, requestID: "t1") == .hold)
    }

    @Test func serverKeepsNothingForPollsWithoutT() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start) == .respond([message("a")]))
        _ = state.send(message("b"))
        #expect(state.pollArrived(now: start) == .respond([message("b")]))
        #expect(state.pollArrived(now: start) == .hold)
    }

    @Test func serverReleasesTheKeptAnswerAtAPollWithoutT() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        #expect(state.pollArrived(now: start) == .hold)
        #expect(state.send(message("b")) == nil)
        #expect(state.flushPoll() == .respondToPoll([message("b")]))
        #expect(state.pollArrived(now: start, requestID: "t1") == .hold)
    }

    @Test func serverAnswersTheSameTWhileItIsHeldAsAnOverlap() {
        var state = polling()
        #expect(state.pollArrived(now: start, requestID: "t1") == .hold)
        #expect(state.pollArrived(now: start, requestID: "t1") == .rejectOverlap(actions: [.closed(.transportError)]))
        #expect(state.isClosed)
    }

    @Test func serverClosingGivesARepeatTheKeptAnswerAndTheNextPollTheRestAndClose() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        _ = state.send(message("b"))
        #expect(state.close(now: start).isEmpty)
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        #expect(state.pollArrived(now: start, requestID: "t2") == .respond([message("b"), .close]))
        #expect(state.isClosed)
    }

    @Test func serverForgetsTheKeptAnswerWhenTheSessionCloses() {
        var state = polling()
        _ = state.send(message("a"))
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond([message("a")]))
        #expect(state.receive(.close, now: start) == .closed(.transportClose))
        #expect(state.pollArrived(now: start, requestID: "t1") == .closed)
    }

    @Test func serverKeepsTheAnswerOutsideThePendingPacketLimit() {
        var state = polling()
        for text in ["a", "b", "c"] { _ = state.send(message(text)) }
        let answer = [message("a"), message("b"), message("c")]
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond(answer))
        for text in ["d", "e", "f"] { #expect(state.send(message(text)) == nil) }
        #expect(state.pollArrived(now: start, requestID: "t1") == .respond(answer))
        #expect(state.pendingPacketCount == 3)
        #expect(!state.isClosed)
    }
}
