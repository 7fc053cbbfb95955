import CanalEngineIO
import CanalEngineIOCore
import CanalSocketIO
import CanalSocketIOCore
import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SocketIOServerTests {
    @Test func webSocketClientConnectsAndGetsAnEcho() async throws {
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                socket.on("echo") { event in try? socket.emit("echo", arguments: event.arguments) }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                let answer = try await client.handshake()
                let sid = try #require(try connectAnswer(answer)["sid"]?.stringValue)
                #expect(sid.count == 20)
                try await client.send(#"42["echo","hi",{"a":[1,2.5,null,true]},12345678901234567890]"#)
                #expect(try await client.nextText() == #"42["echo","hi",{"a":[1,2.5,null,true]},12345678901234567890]"#)
            }
        }
    }

    @Test func socketIDIsNotTheEngineID() async throws {
        try await withSocketIOServer(configure: { _ in }) { port, _ in
            try await withRawClient(port: port) { client in
                let open = try #require(try await client.nextText())
                let engineID = try SocketIOJSON.parse(String(open.dropFirst()))["sid"]?.stringValue
                try await client.send("40")
                let sid = try connectAnswer(try #require(try await client.nextText()))["sid"]?.stringValue
                #expect(sid != nil)
                #expect(sid != engineID)
            }
        }
    }

    @Test func serverAcksAnEventThatAsksForOne() async throws {
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                socket.on("sum") { event in
                    let total = event.arguments.compactMap(\.intValue).reduce(0, +)
                    event.ack?(total)
                }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                try await client.send(#"4217["sum",1,2,3]"#)
                #expect(try await client.nextText() == "4317[6]")
            }
        }
    }

    @Test func serverAskForAckAndGetsTheClientsAnswer() async throws {
        let answer = NIOLockedValueBox<[SocketIOValue]?>(nil)
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                Task {
                    let reply = try await socket.emitWithAck("question", "ready?", timeout: .seconds(5))
                    answer.withLockedValue { $0 = reply }
                    try socket.emit("done")
                }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                let question = try #require(try await client.nextText())
                // 42<id>["question","ready?"]
                #expect(question.hasPrefix("42"))
                #expect(question.hasSuffix(#"["question","ready?"]"#))
                let id = question.dropFirst(2).prefix { $0.isNumber }
                try await client.send("43\(id)[\"yes\",42]")
                #expect(try await client.nextText() == #"42["done"]"#)
            }
        }
        #expect(answer.withLockedValue { $0 } == [.string("yes"), 42])
    }

    @Test func ackTimeoutFires() async throws {
        let outcome = NIOLockedValueBox<Result<[SocketIOValue], SocketIOAckError>?>(nil)
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                try? socket.emit("question", arguments: [], timeout: .milliseconds(100)) { result in
                    outcome.withLockedValue { $0 = result }
                    try? socket.emit("settled")
                }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                #expect(try await client.nextText()?.hasPrefix("42") == true)
                #expect(try await client.nextText() == #"42["settled"]"#)
            }
        }
        #expect(outcome.withLockedValue { $0 } == .failure(.timeout))
    }

    @Test func middlewareRefusalCarriesMessageAndData() async throws {
        try await withSocketIOServer(configure: { io in
            io.use { socket in
                guard socket.handshake.auth["token"]?.stringValue == "good" else {
                    throw SocketIOConnectError("not authorized", data: ["code": 4001])
                }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                let refused = try await client.handshake(auth: #"{"token":"bad"}"#)
                #expect(refused == #"44{"message":"not authorized","data":{"code":4001}}"#)
                try await client.send(#"40{"token":"good"}"#)
                #expect(try await client.nextText()?.hasPrefix("40{\"sid\":") == true)
            }
        }
    }

    @Test func unknownNamespaceIsRefused() async throws {
        try await withSocketIOServer(configure: { _ in }) { port, _ in
            try await withRawClient(port: port) { client in
                let answer = try await client.handshake(namespace: "/nope")
                #expect(answer == #"44/nope,{"message":"Invalid namespace"}"#)
            }
        }
    }

    @Test func dynamicNamespaceIsMadeOnFirstConnection() async throws {
        try await withSocketIOServer(configure: { io in
            let group = try io.of(pattern: "/room-[0-9]+")
            group.onConnection { socket in try? socket.emit("hello", socket.namespace.name) }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                let answer = try await client.handshake(namespace: "/room-42")
                #expect(answer.hasPrefix("40/room-42,{\"sid\":"))
                #expect(try await client.nextText() == #"42/room-42,["hello","/room-42"]"#)
                try await client.send("40/room-x,")
                #expect(try await client.nextText() == #"44/room-x,{"message":"Invalid namespace"}"#)
            }
        }
    }

    @Test func roomBroadcastReachesMembersOnly() async throws {
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                socket.on("join") { event in
                    socket.join(event[0]?.stringValue ?? "")
                    event.ack?(true)
                }
                socket.on("shout") { event in
                    try? io.to("blue").emit("news", arguments: event.arguments)
                }
            }
        }) { port, _ in
            try await withRawClient(port: port) { member in
                _ = try await member.handshake()
                try await member.send(#"421["join","blue"]"#)
                #expect(try await member.nextText() == "431[true]")
                try await withRawClient(port: port) { outsider in
                    _ = try await outsider.handshake()
                    try await outsider.send(#"42["shout","hello blue"]"#)
                    #expect(try await member.nextText() == #"42["news","hello blue"]"#)
                    // The outsider got nothing: the next thing it sees is the end of the
                    // connection, which it asks for.
                    try await outsider.send("1")
                    #expect(try await outsider.next() == nil)
                }
            }
        }
    }

    @Test func malformedPacketClosesTheConnection() async throws {
        try await withSocketIOServer(configure: { _ in }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                try await client.send("42[\"unterminated")
                #expect(try await client.next() == nil)
            }
        }
    }

    @Test func clientPingClosesTheSession() async throws {
        try await withSocketIOServer(configure: { _ in }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                try await client.send("2")
                #expect(try await client.next() == nil)
            }
        }
    }

    @Test func connectTimeoutClosesASilentClient() async throws {
        var options = SocketIOServerOptions()
        options.connectTimeout = .milliseconds(200)
        try await withSocketIOServer(options: options, configure: { _ in }) { port, _ in
            try await withRawClient(port: port) { client in
                let open = try await client.nextText()
                #expect(open?.hasPrefix("0{") == true)
                let end = try await client.next()
                #expect(end == nil)
            }
        }
    }

    @Test func binaryAttachmentsArriveAndGoBack() async throws {
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                socket.on("file") { event in
                    #expect(event[0]?["data"]?.binaryValue == ByteBuffer(bytes: [1, 2, 3]))
                    try? socket.emit("file", arguments: event.arguments)
                }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                try await client.send(#"451-["file",{"data":{"_placeholder":true,"num":0}}]"#)
                try await client.outbound.send(binary: ByteBuffer(bytes: [1, 2, 3]))
                #expect(try await client.nextText() == #"451-["file",{"data":{"_placeholder":true,"num":0}}]"#)
                #expect(try await client.next() == .binary([1, 2, 3]))
            }
        }
    }

    @Test func reservedEventNamesAreRefusedAtEmit() async throws {
        let error = NIOLockedValueBox<Error?>(nil)
        try await withSocketIOServer(configure: { io in
            io.onConnection { socket in
                do { try socket.emit("disconnect") } catch let caught { error.withLockedValue { $0 = caught } }
                try? socket.emit("after")
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                #expect(try await client.nextText() == #"42["after"]"#)
            }
        }
        #expect(error.withLockedValue { $0 } is SocketIOError)
    }

    @Test func recoveryGivesBackIDRoomsAndMissedEvents() async throws {
        var options = SocketIOServerOptions()
        options.connectionStateRecovery = .init(maxDisconnectionDuration: .seconds(10))
        try await withSocketIOServer(options: options, configure: { io in
            io.onConnection { socket in
                socket.on("join") { _ in
                    socket.join("green")
                    try? io.to("green").emit("tick", 1)
                }
                socket.on("state") { event in
                    event.ack?(socket.recovered, socket.rooms.contains("green"))
                }
            }
        }) { port, io in
            let (sid, pid, offset) = try await withRawClient(port: port) { client in
                let answer = try connectAnswer(try await client.handshake())
                let sid = try #require(answer["sid"]?.stringValue)
                let pid = try #require(answer["pid"]?.stringValue)
                try await client.send(#"42["join"]"#)
                let tick = try #require(try await client.nextText())
                // The offset travels as the event's last argument.
                let arguments = try SocketIOJSON.parse(String(tick.dropFirst(2))).arrayValue ?? []
                #expect(arguments.prefix(2) == ["tick", 1])
                let offset = try #require(arguments.last?.stringValue)
                return (sid, pid, offset)
            }
            // Wait until the server saw the client go.
            for _ in 0..<100 where io.mainNamespace.socketCount > 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(io.mainNamespace.socketCount == 0)
            try io.to("green").emit("missed", 2)
            try io.emit("missed", 3)
            try io.to("elsewhere").emit("not-for-us")
            try await withRawClient(port: port) { client in
                let answer = try connectAnswer(
                    try await client.handshake(auth: #"{"pid":"\#(pid)","offset":"\#(offset)"}"#))
                #expect(answer["sid"]?.stringValue == sid)
                #expect(answer["pid"]?.stringValue == pid)
                #expect(try await client.nextText()?.hasPrefix(#"42["missed",2,"#) == true)
                #expect(try await client.nextText()?.hasPrefix(#"42["missed",3,"#) == true)
                try await client.send(#"421["state"]"#)
                #expect(try await client.nextText() == "431[true,true]")
            }
            // An unknown private id is a new session.
            try await withRawClient(port: port) { client in
                let answer = try connectAnswer(try await client.handshake(auth: #"{"pid":"nope","offset":"o1"}"#))
                #expect(answer["sid"]?.stringValue != sid)
            }
        }
    }
}
