import CanalSocketIO
import CanalSocketIOCore
import CanalSocketIORedis
import Foundation
import NIOCore
import Testing

/// Stream entries in the format of @socket.io/redis-streams-adapter 0.2.
@Suite struct ClusterMessageTests {
    static func fields(_ message: SocketIOClusterMessage) -> [String: String] {
        Dictionary(uniqueKeysWithValues: message.streamFields.map { ($0.0, String(buffer: $0.1)) })
    }

    @Test func broadcastWithoutBinaryIsJSON() {
        var options = SocketIOBroadcastOptions(rooms: ["r1"], except: ["x"])
        options.flags.volatile = true
        let packet = SocketIOPacket(type: .event, namespace: "/", data: ["news", ["n": 1]])
        let message = SocketIOClusterMessage(
            uid: "0123456789abcdef", namespace: "/", type: .broadcast,
            data: ["packet": SocketIOClusterData.packet(packet), "opts": SocketIOClusterData.options(options)])
        #expect(Self.fields(message) == [
            "uid": "0123456789abcdef", "nsp": "/", "type": "3",
            "data": #"{"packet":{"type":2,"data":["news",{"n":1}],"nsp":"/"},"opts":{"rooms":["r1"],"except":["x"],"flags":{"volatile":true}}}"#,
        ])
        #expect(message.streamFields.map(\.0) == ["uid", "nsp", "type", "data"])
    }

    @Test func broadcastWithBinaryIsBase64MessagePack() throws {
        let packet = SocketIOPacket(type: .event, data: ["file", .binary(ByteBuffer(bytes: [0, 1, 255]))])
        let data: SocketIOValue = ["packet": SocketIOClusterData.packet(packet), "opts": SocketIOClusterData.options(.init())]
        let message = SocketIOClusterMessage(uid: "u", namespace: "/", type: .broadcast, data: data)
        let raw = try #require(Self.fields(message)["data"])
        #expect(!raw.hasPrefix("{"))
        let bytes = try #require(Data(base64Encoded: raw))
        #expect(try MessagePack.decode(ByteBuffer(bytes: bytes)) == data)
        #expect(try SocketIOClusterMessage(streamFields: message.streamFields) == message)
    }

    @Test func heartbeatHasNoData() {
        let message = SocketIOClusterMessage(uid: "u", namespace: "/chat", type: .heartbeat)
        #expect(Self.fields(message) == ["uid": "u", "nsp": "/chat", "type": "2"])
    }

    @Test func entryWrittenByTheNodeAdapterDecodes() throws {
        // What a Node server writes for `io.to("room").emit("hi", 1)` (packet type 2, flags {}).
        let fields: [(String, ByteBuffer)] = [
            ("uid", ByteBuffer(string: "9f1c2b3a4d5e6f70")), ("nsp", ByteBuffer(string: "/")),
            ("type", ByteBuffer(string: "3")),
            ("data", ByteBuffer(string: #"{"packet":{"type":2,"data":["hi",1],"nsp":"/"},"opts":{"rooms":["room"],"except":[],"flags":{}}}"#)),
        ]
        let message = try SocketIOClusterMessage(streamFields: fields)
        #expect(message.type == .broadcast && message.uid == "9f1c2b3a4d5e6f70")
        let packet = try #require(SocketIOClusterData.packet(message.data?["packet"]))
        #expect(packet == SocketIOPacket(type: .event, namespace: "/", data: ["hi", 1]))
        #expect(SocketIOClusterData.options(message.data?["opts"]) == SocketIOBroadcastOptions(rooms: ["room"]))
    }

    @Test(arguments: [
        [("nsp", "/"), ("type", "3")], [("uid", "u"), ("type", "3")], [("uid", "u"), ("nsp", "/"), ("type", "99")],
        [("uid", "u"), ("nsp", "/"), ("type", "3"), ("data", "{not json")],
        [("uid", "u"), ("nsp", "/"), ("type", "3"), ("data", "!!!")],
    ])
    func entriesThatAreNotMessagesAreRefused(pairs: [(String, String)]) {
        let fields = pairs.map { ($0.0, ByteBuffer(string: $0.1)) }
        #expect(throws: SocketIOClusterFormatError.self) { try SocketIOClusterMessage(streamFields: fields) }
    }

    @Test func sessionIsMessagePackWithTheSocketIDAmongItsRooms() throws {
        let snapshot = SocketIOSessionSnapshot(id: "sid1", privateID: "pid1", rooms: ["blue"], data: ["user": "ana"])
        let bytes = SocketIOClusterData.session(snapshot)
        #expect(try MessagePack.decode(bytes) == [
            "sid": "sid1", "pid": "pid1", "rooms": ["blue", "sid1"], "data": ["user": "ana"],
        ])
        #expect(SocketIOClusterData.session(bytes) == snapshot)
    }

    @Test func socketOfAFetchSocketsResponseRoundTrips() throws {
        let socket = SocketIORemoteSocket(
            id: "s1", rooms: ["s1", "a"], data: ["x": 1],
            handshake: SocketIOHandshakeInfo(
                headers: ["host": "h"], query: ["EIO": "4"], auth: ["t": "k"], address: "127.0.0.1", url: "/socket.io/?EIO=4",
                issued: 1_700_000_000_000))
        let value = SocketIOClusterData.socket(socket)
        #expect(value["handshake"]?["issued"] == 1_700_000_000_000)
        #expect(SocketIOClusterData.socket(value) == socket)
    }
}
