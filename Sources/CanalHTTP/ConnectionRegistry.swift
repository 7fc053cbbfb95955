import NIOConcurrencyHelpers
import NIOCore

/// The open connections of a server, for graceful shutdown: ask each to finish, then
/// close whatever is left when the time is up.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: Channel] = [:]
        var isQuiescing = false
        var whenEmpty: [EventLoopPromise<Void>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Adds a new connection. During shutdown it is closed at once instead.
    func add(_ channel: Channel) {
        let accepted = state.withLockedValue { state -> Bool in
            guard !state.isQuiescing else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { _ in self.remove(channel) }
    }

    private func remove(_ channel: Channel) {
        let waiters = state.withLockedValue { state -> [EventLoopPromise<Void>] in
            state.channels[ObjectIdentifier(channel)] = nil
            guard state.channels.isEmpty, state.isQuiescing else { return [] }
            defer { state.whenEmpty = [] }
            return state.whenEmpty
        }
        for waiter in waiters { waiter.succeed() }
    }

    var count: Int { state.withLockedValue { $0.channels.count } }

    /// Tells every connection to finish (`ChannelShouldQuiesceEvent`): HTTP connections
    /// close after the response in progress, WebSocket connections send 1001. The promise
    /// succeeds once all are closed.
    func quiesce(whenEmpty promise: EventLoopPromise<Void>) {
        let channels = state.withLockedValue { state -> [Channel]? in
            state.isQuiescing = true
            if state.channels.isEmpty { return nil }
            state.whenEmpty.append(promise)
            return Array(state.channels.values)
        }
        guard let channels else {
            promise.succeed()
            return
        }
        for channel in channels {
            channel.eventLoop.execute {
                channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
    }

    /// Closes every connection still open.
    func closeAll() {
        let channels = state.withLockedValue { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}
