import CanalWebSocketCore
import NIOCore

/// Input held back while the pipeline switches from HTTP to WebSocket: the handler is in
/// the pipeline before the HTTP handlers have left it, and nothing it writes may pass
/// through them, nor may a byte that arrives meanwhile be lost.
extension WebSocketChannelHandler {
    /// What waits while the handler holds its input (`State.holdingInput`).
    struct HeldInput {
        /// Bytes read, in order.
        var input: [ByteBuffer] = []
        /// The peer's FIN came after them.
        var eof = false
        /// Promises of writes asked for meanwhile; the bytes wait in the core.
        var writePromises: [EventLoopPromise<Void>] = []
    }

    /// Keeps input aside until `releaseInput()`, while handlers that must not see
    /// WebSocket writes are still leaving the pipeline. Output waits too: a keepalive ping
    /// or an early send must not pass through an HTTP codec that is still there.
    func holdInput() {
        if case .active = state { state = .holdingInput(HeldInput()) }
    }

    /// Processes the input kept aside by `holdInput()`.
    func releaseInput() {
        guard case .holdingInput(let held) = state else { return }
        state = .active
        guard let context else {
            failWrites(held: held.writePromises)
            return
        }
        isInRead = true
        if held.writePromises.isEmpty {
            writeOutputs(context: context, promise: nil)
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            writeOutputs(context: context, promise: written)
            for promise in held.writePromises { written.futureResult.cascade(to: promise) }
        }
        updateTransport(context: context)
        for bytes in held.input {
            connection.receive(bytes)
            pump(context: context)
        }
        isInRead = false
        flushIfNeeded(context: context)
        if !held.input.isEmpty, callback == nil {
            context.fireChannelReadComplete()
        }
        if held.eof {
            connection.receiveEOF()
            pump(context: context)
        }
    }

    /// Runs `body` on what is held, in place; false when input is not held.
    @discardableResult
    func updateHeldInput(_ body: (inout HeldInput) -> Void) -> Bool {
        guard case .holdingInput(var held) = state else { return false }
        state = .active  // let go of the state's copy, so that `held` changes in place
        body(&held)
        state = .holdingInput(held)
        return true
    }

    /// Takes the promises of the writes asked for while input is held.
    func takeHeldWritePromises() -> [EventLoopPromise<Void>] {
        var promises: [EventLoopPromise<Void>] = []
        updateHeldInput { held in swap(&promises, &held.writePromises) }
        return promises
    }

    /// Fails the promises of writes that can no longer happen: `held` ones, then those
    /// waiting behind a fragmented message.
    func failWrites(held: [EventLoopPromise<Void>]) {
        let waiting = held + deferredWritePromises.map(\.promise)
        deferredWritePromises = []
        for promise in waiting { promise.fail(ChannelError.ioOnClosedChannel) }
    }
}
