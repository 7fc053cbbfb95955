import NIOCore

/// The upgrade from long-polling to WebSocket, as engine.io-client's `probe()` runs it.
extension EngineClientState {
    /// The probe WebSocket is open: it sends `2probe`.
    public mutating func probeOpened(now: NIODeadline) -> [EngineClientAction] {
        guard case .connecting(let deadline) = probe, phase == .open else { return abandonProbeIfOver() }
        probe = .probing(deadline: deadline)
        return [.sendOnProbe(.probePing)]
    }

    /// A packet on the probe WebSocket. `3probe` pauses polling; anything else abandons
    /// the upgrade.
    public mutating func probeReceived(_ packet: EnginePacket, now: NIODeadline) -> [EngineClientAction] {
        guard case .probing(let deadline) = probe else {
            // Before 2probe was sent, or while pausing: the server is not following the protocol.
            return isUpgrading ? abandonProbe() : []
        }
        guard packet.type == .pong, packet.isProbe else { return abandonProbe() }
        probe = .pausing(deadline: deadline)
        return finishUpgradeIfPaused()
    }

    /// The probe WebSocket could not be opened, or closed before the upgrade finished.
    public mutating func probeFailed(now: NIODeadline) -> [EngineClientAction] {
        guard isUpgrading else { return [] }
        let wasPausing: Bool
        if case .pausing = probe { wasPausing = true } else { wasPausing = false }
        probe = .over
        return wasPausing ? resumePolling() : []
    }

    /// Switches to the WebSocket once no GET or POST is in flight (engine.io-client's
    /// `pause`): `5` on the probe, which becomes the transport, then the write buffer.
    mutating func finishUpgradeIfPaused() -> [EngineClientAction] {
        guard case .pausing = probe, !pollInFlight, !postInFlight, phase == .open else { return [] }
        probe = .over
        transport = .websocket
        var actions: [EngineClientAction] = [.sendOnProbe(EnginePacket(.upgrade)), .promoteProbe]
        if !writeBuffer.isEmpty {
            actions.append(.sendOnWebSocket(writeBuffer))
            writeBuffer.removeAll(keepingCapacity: true)
        }
        return actions
    }

    /// Gives the upgrade up and stays on polling.
    mutating func abandonProbe() -> [EngineClientAction] {
        let wasPausing: Bool
        if case .pausing = probe { wasPausing = true } else { wasPausing = false }
        probe = .over
        var actions: [EngineClientAction] = [.closeProbe]
        if wasPausing { actions += resumePolling() }
        return actions
    }

    private func abandonProbeIfOver() -> [EngineClientAction] {
        // A probe that opens after it was abandoned (or after the session ended) is closed.
        isUpgrading ? [] : [.closeProbe]
    }

    /// Polling goes on after a pause that did not end in an upgrade.
    private mutating func resumePolling() -> [EngineClientAction] {
        guard phase == .open, transport == .polling else { return [] }
        var actions: [EngineClientAction] = []
        if !pollInFlight {
            pollInFlight = true
            actions.append(.poll)
        }
        return actions + flush()
    }
}
