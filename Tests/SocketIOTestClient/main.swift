// canal-sio-testclient: CanalSocketIOClient driven by JSON lines, for Tests/sioclient.
//
// Commands on standard input, one JSON object a line:
//   {"op":"manager","id":"m1","url":"http://127.0.0.1:P","transports":["websocket"],
//    "upgrade":true,"reconnection":true,"delay_ms":200,"max_delay_ms":1000,"randomization":0,
//    "attempts":N,"ack_timeout_ms":N,"connect_timeout_ms":N,"offline_max":N,
//    "offline_overflow":"newest"|"oldest","headers":{"name":"value"}}
//   {"op":"socket","manager":"m1","id":"s1","namespace":"/admin","auth":{...}}   (connects)
//   {"op":"emit","socket":"s1","event":"e","args":[...],"volatile":false}
//   {"op":"emit-ack","socket":"s1","event":"e","args":[...],"timeout_ms":N,"tag":"t"}
//   {"op":"answer","socket":"s1","event":"e","reply":[...] | null}   (acks the server asks for)
//   {"op":"connect"|"disconnect"|"status","socket":"s1"}
//   {"op":"close","manager":"m1"}
// Output on standard output, one JSON object a line: {"type":"connected"|"connect_error"|
// "event"|"disconnected"|"reconnecting"|"reconnect_failed"|"upgraded"|"dropped"|"ack"|
// "status"|"closed"|"error", "socket":..., ...}. Binary values are {"$binary":"hex"} both ways.
//
// `canal-sio-testclient bench ...` is the client of bench/sioclient (Bench.swift).
import CanalSocketIOClient
import CanalSocketIOCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

let output = NIOLockedValueBox(())

func say(_ value: SocketIOValue) {
    let line = SocketIOJSON.string(toWire(value)) + "\n"
    output.withLockedValue { _ in
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}

func hex(_ bytes: ByteBuffer) -> String {
    bytes.readableBytesView.map { String(format: "%02x", $0) }.joined()
}

func unhex(_ text: String) -> ByteBuffer? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes = ByteBuffer()
    var index = 0
    while index < digits.count {
        guard let value = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            return nil
        }
        bytes.writeInteger(value)
        index += 2
    }
    return bytes
}

func fromWire(_ value: SocketIOValue) -> SocketIOValue {
    switch value {
    case .array(let elements): return .array(elements.map(fromWire))
    case .object(let members):
        if members.count == 1, let text = members["$binary"]?.stringValue, let bytes = unhex(text) {
            return .binary(bytes)
        }
        return .object(SocketIOObject(members.map { ($0.0, fromWire($0.1)) }))
    default: return value
    }
}

func toWire(_ value: SocketIOValue) -> SocketIOValue {
    switch value {
    case .array(let elements): return .array(elements.map(toWire))
    case .object(let members): return .object(SocketIOObject(members.map { ($0.0, toWire($0.1)) }))
    case .binary(let bytes): return ["$binary": .string(hex(bytes))]
    default: return value
    }
}

func milliseconds(_ value: SocketIOValue?) -> TimeAmount? {
    value?.intValue.map { .milliseconds(Int64($0)) }
}

func errorValue(_ error: SocketIOClientError) -> [(String, SocketIOValue)] {
    var pairs: [(String, SocketIOValue)] = [("kind", .string("\(error.kind)")), ("message", .string(error.message))]
    if let data = error.data { pairs.append(("data", data)) }
    if let reason = error.reason { pairs.append(("reason", .string(reason.rawValue))) }
    return pairs
}

final class Driver: Sendable {
    private let managers = NIOLockedValueBox<[String: SocketIOManager]>([:])
    private let sockets = NIOLockedValueBox<[String: SocketIOClientSocket]>([:])
    /// Auto-answers for server acks: event name -> reply (nil: never answer), per socket.
    private let answers = NIOLockedValueBox<[String: [String: [SocketIOValue]?]]>([:])

    func handle(_ command: SocketIOValue) {
        let op = command["op"]?.stringValue ?? ""
        do {
            switch op {
            case "manager": try makeManager(command)
            case "socket": try makeSocket(command)
            case "emit":
                let socket = try socket(command)
                let event = command["event"]?.stringValue ?? "message"
                let arguments = (command["args"]?.arrayValue ?? []).map(fromWire)
                if command["volatile"]?.boolValue == true {
                    try socket.volatile.emit(event, arguments: arguments)
                } else {
                    try socket.emit(event, arguments: arguments)
                }
            case "emit-ack":
                let socket = try socket(command)
                let event = command["event"]?.stringValue ?? "message"
                let arguments = (command["args"]?.arrayValue ?? []).map(fromWire)
                let tag = command["tag"] ?? .null
                let timeout = milliseconds(command["timeout_ms"])
                Task {
                    do {
                        let answer = try await socket.emitWithAck(event, arguments: arguments, timeout: timeout)
                        say(["type": "ack", "tag": tag, "ok": true, "args": .array(answer)])
                    } catch let error as SocketIOClientError {
                        say(.object(SocketIOObject([("type", "ack"), ("tag", tag), ("ok", false)] + errorValue(error))))
                    } catch {
                        say(["type": "ack", "tag": tag, "ok": false, "kind": "other", "message": .string("\(error)")])
                    }
                }
            case "answer":
                let id = command["socket"]?.stringValue ?? ""
                let event = command["event"]?.stringValue ?? ""
                let reply = command["reply"]?.arrayValue.map { $0.map(fromWire) }
                answers.withLockedValue { $0[id, default: [:]][event] = .some(reply) }
            case "connect": try socket(command).connect()
            case "disconnect": try socket(command).disconnect()
            case "status":
                let socket = try socket(command)
                say([
                    "type": "status", "socket": command["socket"] ?? .null, "connected": .bool(socket.isConnected),
                    "id": socket.id.map { .string($0) } ?? .null, "recovered": .bool(socket.recovered),
                    "dropped": .number(SocketIONumber(socket.droppedCount)), "active": .bool(socket.isActive),
                ])
            case "close":
                let id = command["manager"]?.stringValue ?? ""
                guard let manager = managers.withLockedValue({ $0.removeValue(forKey: id) }) else {
                    throw SocketIOClientError(.invalidURL, "no manager \(id)")
                }
                Task {
                    await manager.close()
                    say(["type": "closed", "manager": .string(id)])
                }
            default:
                say(["type": "error", "message": .string("unknown op \(op)")])
            }
        } catch {
            say(["type": "error", "op": .string(op), "message": .string("\(error)")])
        }
    }

    private func makeManager(_ command: SocketIOValue) throws {
        var configuration = SocketIOClientConfiguration()
        if let names = command["transports"]?.arrayValue {
            configuration.transports = names.compactMap { $0.stringValue.flatMap(EngineTransport.init(rawValue:)) }
        }
        if let upgrade = command["upgrade"]?.boolValue { configuration.engine.upgrade = upgrade }
        if let enabled = command["reconnection"]?.boolValue { configuration.reconnection.isEnabled = enabled }
        if let delay = milliseconds(command["delay_ms"]) { configuration.reconnection.delay = delay }
        if let delay = milliseconds(command["max_delay_ms"]) { configuration.reconnection.maximumDelay = delay }
        if let factor = command["randomization"]?.doubleValue { configuration.reconnection.randomizationFactor = factor }
        if let attempts = command["attempts"]?.intValue { configuration.reconnection.maximumAttempts = attempts }
        if let timeout = milliseconds(command["ack_timeout_ms"]) { configuration.ackTimeout = timeout }
        if let timeout = milliseconds(command["connect_timeout_ms"]) {
            configuration.connectTimeout = timeout
            configuration.engine.openTimeout = timeout
        }
        if let limit = command["offline_max"]?.intValue { configuration.offlineBuffer.maximumPackets = limit }
        if command["offline_overflow"]?.stringValue == "oldest" { configuration.offlineBuffer.overflow = .dropOldest }
        for (name, value) in command["headers"]?.objectValue ?? SocketIOObject() {
            configuration.headers.add(name: name, value: value.stringValue ?? "")
        }
        if ProcessInfo.processInfo.environment["CANAL_SIO_TRACE"] != nil {
            // Every packet and state change on standard error, for debugging a test.
            var logger = Logger(label: "sio") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .trace
            configuration.logger = logger
        }
        let manager = try SocketIOManager(url: command["url"]?.stringValue ?? "", configuration: configuration)
        managers.withLockedValue { $0[command["id"]?.stringValue ?? "m"] = manager }
    }

    private func makeSocket(_ command: SocketIOValue) throws {
        let managerID = command["manager"]?.stringValue ?? "m"
        guard let manager = managers.withLockedValue({ $0[managerID] }) else {
            throw SocketIOClientError(.invalidURL, "no manager \(managerID)")
        }
        let id = command["socket"]?.stringValue ?? command["id"]?.stringValue ?? "s"
        let socket = manager.socket(namespace: command["namespace"]?.stringValue, auth: command["auth"].map(fromWire))
        sockets.withLockedValue { $0[id] = socket }
        let updates = socket.updates()
        Task { await self.report(updates, socket: id, client: socket) }
        socket.connect()
    }

    private func socket(_ command: SocketIOValue) throws -> SocketIOClientSocket {
        let id = command["socket"]?.stringValue ?? ""
        guard let socket = sockets.withLockedValue({ $0[id] }) else {
            throw SocketIOClientError(.invalidURL, "no socket \(id)")
        }
        return socket
    }

    private func report(_ updates: SocketIOClientUpdates, socket id: String, client: SocketIOClientSocket) async {
        let tag = SocketIOValue.string(id)
        do {
            for try await update in updates {
                switch update {
                case .connected(let info):
                    say([
                        "type": "connected", "socket": tag, "id": .string(info.id), "recovered": .bool(info.recovered),
                        "pid": info.privateID.map { .string($0) } ?? .null, "transport": .string(info.transport.rawValue),
                    ])
                case .connectError(let error, let willRetry):
                    say(.object(SocketIOObject(
                        [("type", "connect_error"), ("socket", tag), ("will_retry", .bool(willRetry))]
                            + errorValue(error))))
                case .event(let event):
                    say([
                        "type": "event", "socket": tag, "name": .string(event.name), "args": .array(event.arguments),
                        "has_ack": .bool(event.ack != nil), "offset": event.offset.map { .string($0) } ?? .null,
                    ])
                    if let ack = event.ack {
                        let reply = answers.withLockedValue { $0[id]?[event.name] }
                        // No rule: answer with the same arguments; a null rule: never answer.
                        switch reply {
                        case .none: ack(arguments: event.arguments)
                        case .some(.some(let arguments)): ack(arguments: arguments)
                        case .some(.none): break
                        }
                    }
                case .disconnected(let reason, let willReconnect, let detail):
                    say([
                        "type": "disconnected", "socket": tag, "reason": .string(reason.rawValue),
                        "will_reconnect": .bool(willReconnect), "detail": detail.map { .string($0) } ?? .null,
                    ])
                case .reconnecting(let attempt, let delay):
                    say([
                        "type": "reconnecting", "socket": tag, "attempt": .number(SocketIONumber(attempt)),
                        "delay_ms": .number(SocketIONumber(Int(delay.nanoseconds / 1_000_000))),
                    ])
                case .reconnectFailed(let attempts):
                    say(["type": "reconnect_failed", "socket": tag, "attempts": .number(SocketIONumber(attempts))])
                case .upgraded(let transport):
                    say(["type": "upgraded", "socket": tag, "transport": .string(transport.rawValue)])
                case .dropped(let emit):
                    say([
                        "type": "dropped", "socket": tag, "event": .string(emit.event), "args": .array(emit.arguments),
                        "reason": .string(emit.reason.rawValue),
                    ])
                }
            }
            say(["type": "updates_ended", "socket": tag])
        } catch {
            say(["type": "updates_failed", "socket": tag, "message": .string("\(error)")])
        }
    }
}

if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "bench" {
    exit(await Bench.run(Array(CommandLine.arguments.dropFirst(2))))
}

let driver = Driver()
say(["type": "ready"])
while let line = readLine(strippingNewline: true) {
    guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
    do {
        driver.handle(try SocketIOJSON.parse(line))
    } catch {
        say(["type": "error", "message": .string("bad JSON: \(error)")])
    }
}
// End of input: leave at once (the test harness closes managers it cares about first).
exit(0)
