// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Canal",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CanalWebSocketCore", targets: ["CanalWebSocketCore"]),
        .library(name: "CanalWebSocketCompression", targets: ["CanalWebSocketCompression"]),
        .library(name: "CanalWebSocket", targets: ["CanalWebSocket"]),
        .library(name: "CanalHTTP", targets: ["CanalHTTP"]),
        .library(name: "CanalSSECore", targets: ["CanalSSECore"]),
        .library(name: "CanalEventSource", targets: ["CanalEventSource"]),
        .library(name: "CanalEngineIOCore", targets: ["CanalEngineIOCore"]),
        .library(name: "CanalEngineIO", targets: ["CanalEngineIO"]),
        .library(name: "CanalSocketIOCore", targets: ["CanalSocketIOCore"]),
        .library(name: "CanalSocketIO", targets: ["CanalSocketIO"]),
        .library(name: "CanalRedis", targets: ["CanalRedis"]),
        .library(name: "CanalSocketIORedis", targets: ["CanalSocketIORedis"]),
        .library(name: "CanalSocketIOClient", targets: ["CanalSocketIOClient"]),
        .library(name: "CanalEngineIORedis", targets: ["CanalEngineIORedis"]),
        .executable(name: "canal", targets: ["canal"]),
        .executable(name: "echo-server", targets: ["EchoServer"]),
        .executable(name: "periodic-client", targets: ["PeriodicClient"]),
        .executable(name: "chat-server", targets: ["ChatServer"]),
        .executable(name: "periodic-sio-client", targets: ["PeriodicSocketIOClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // RFC 6455 without I/O: bytes in, events and bytes out.
        .target(
            name: "CanalWebSocketCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // permessage-deflate (RFC 7692): negotiation and zlib through compress-nio, kept out
        // of the core so that the core links no zlib.
        .target(
            name: "CanalWebSocketCompression",
            dependencies: [
                "CanalWebSocketCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        // SwiftNIO driver: server, client, async and W3C-style APIs.
        .target(
            name: "CanalWebSocket",
            dependencies: [
                "CanalWebSocketCore",
                "CanalWebSocketCompression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Server-sent events without I/O: the event serialiser and the WHATWG stream parser.
        .target(
            name: "CanalSSECore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // HTTP/1.1 on NIO: routes, static files, same-port WebSocket upgrades, event
        // streams, TLS.
        .target(
            name: "CanalHTTP",
            dependencies: [
                "CanalWebSocket",
                "CanalSSECore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The server-sent events client (a browser's EventSource, for Swift) on SwiftNIO.
        .target(
            name: "CanalEventSource",
            dependencies: [
                "CanalSSECore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Engine.IO v4 without I/O: packets, polling payloads, the handshake, the session's
        // state machine (heartbeat, upgrade, polling slots) with time injected.
        .target(
            name: "CanalEngineIOCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Engine.IO's server transports (long-polling and WebSocket) on CanalHTTP.
        .target(
            name: "CanalEngineIO",
            dependencies: [
                "CanalEngineIOCore",
                "CanalHTTP",
                "CanalWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Socket.IO v5 without I/O: JSON values, the packet codec with binary attachments.
        .target(
            name: "CanalSocketIOCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Our browser Socket.IO client, served at /socket.io/socket.io.js.
        .target(
            name: "CanalSocketIOBrowserClient",
            path: "Clients/js",
            exclude: ["README.md"],
            sources: ["BundledClient.swift"],
            resources: [.copy("socket.io.js")]
        ),
        // The Socket.IO server: namespaces, sockets, rooms, the adapter, acks, broadcasts.
        .target(
            name: "CanalSocketIO",
            dependencies: [
                "CanalSocketIOBrowserClient",
                "CanalSocketIOCore",
                "CanalEngineIOCore",
                "CanalEngineIO",
                "CanalHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        // A narrow Redis client: the RESP2 codec without I/O, and a pipelined, reconnecting
        // connection on NIO with pub/sub and the stream commands, behind the RedisClient protocol.
        .target(
            name: "CanalRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Socket.IO servers in a cluster through Redis: the adapter, wire-compatible with
        // @socket.io/redis-streams-adapter, and sessions that survive a server.
        .target(
            name: "CanalSocketIORedis",
            dependencies: [
                "CanalRedis",
                "CanalSocketIO",
                "CanalSocketIOCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Socket.IO client: Engine.IO transports (WebSocket through CanalWebSocket,
        // long-polling through async-http-client), the manager and its namespace sockets.
        .target(
            name: "CanalSocketIOClient",
            dependencies: [
                "CanalEngineIOCore",
                "CanalSocketIOCore",
                "CanalWebSocket",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // No sticky sessions: Engine.IO requests for another server's session are relayed
        // to it, its address found in Redis (EngineSessionForwarder).
        .target(
            name: "CanalEngineIORedis",
            dependencies: [
                "CanalRedis",
                "CanalEngineIO",
                "CanalHTTP",
                "CanalWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The tutorial's examples 5 and 6: pages, styles, scripts and an image, with the
        // routes that serve them.
        .target(
            name: "CanalDemoSite",
            dependencies: [
                "CanalHTTP",
                "CanalSSECore",
                "CanalSocketIO",
                "CanalSocketIOCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Demo/Site",
            resources: [.copy("public")]
        ),
        .executableTarget(
            name: "canal",
            dependencies: [
                "CanalWebSocket",
                "CanalEventSource",
                "CanalSSECore",
                "CanalWebSocketCompression",
                "CanalHTTP",
                "CanalDemoSite",
                "CanalSocketIO",
                "CanalSocketIOClient",
                "CanalSocketIOCore",
                "CanalSocketIORedis",
                "CanalEngineIORedis",
                "CanalRedis",
                "CanalEngineIO",
                "CanalEngineIOCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "EchoServer",
            dependencies: ["CanalWebSocket", .product(name: "Logging", package: "swift-log")],
            path: "Examples/EchoServer"
        ),
        .executableTarget(
            name: "ChatServer",
            dependencies: ["CanalSocketIO", "CanalHTTP"],
            path: "Examples/ChatServer",
            exclude: ["public"]
        ),
        .executableTarget(
            name: "PeriodicSocketIOClient",
            dependencies: ["CanalSocketIOClient"],
            path: "Examples/PeriodicSocketIOClient"
        ),
        .executableTarget(
            name: "PeriodicClient",
            dependencies: ["CanalWebSocket"],
            path: "Examples/PeriodicClient"
        ),
        // Drives our client and server from the Python conformance and interop tests.
        .executableTarget(
            name: "canal-testpeer",
            dependencies: [
                "CanalWebSocket",
                "CanalWebSocketCompression",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/TestPeer"
        ),
        // JSON-lines front end of CanalSocketIOCore for the interop tests in Tests/sioparser.
        .executableTarget(
            name: "canal-sio-codec",
            dependencies: ["CanalSocketIOCore"],
            path: "Tests/SIOCodecTool"
        ),
        // JSON-lines front end of CanalSocketIORedis's wire format for Tests/cluster.
        .executableTarget(
            name: "canal-redis-wire",
            dependencies: ["CanalSocketIORedis", "CanalSocketIO", "CanalSocketIOCore"],
            path: "Tests/RedisWireTool"
        ),
        // The Socket.IO server the Python tests drive (Tests/socketio/CONTRACT.md).
        .executableTarget(
            name: "canal-sio-testserver",
            dependencies: [
                "CanalSocketIO",
                "CanalSocketIORedis",
                "CanalEngineIORedis",
                "CanalHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SocketIOTestServer"
        ),
        // The event-stream server the Python suites (Tests/sse) and bench/sse drive.
        .executableTarget(
            name: "canal-sse-testserver",
            dependencies: [
                "CanalHTTP",
                "CanalSSECore",
                "CanalWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SSETestServer"
        ),
        // The Socket.IO client the Python suites in Tests/sioclient drive (JSON lines).
        .executableTarget(
            name: "canal-sio-testclient",
            dependencies: [
                "CanalSocketIOClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SocketIOTestClient"
        ),
        .testTarget(
            name: "CanalSocketIOClientTests",
            dependencies: [
                "CanalSocketIOClient",
                "CanalSocketIO",
                "CanalHTTP",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CanalEngineIOCoreTests",
            dependencies: ["CanalEngineIOCore"]
        ),
        .testTarget(
            name: "CanalSocketIOCoreTests",
            dependencies: ["CanalSocketIOCore"]
        ),
        .testTarget(
            name: "CanalSocketIOTests",
            dependencies: [
                "CanalSocketIO",
                "CanalEngineIO",
                "CanalHTTP",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // Starts and stops a real redis-server for the Redis test targets.
        .target(
            name: "CanalRedisTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/RedisTestSupport"
        ),
        .testTarget(
            name: "CanalRedisTests",
            dependencies: [
                "CanalRedis",
                "CanalRedisTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "CanalSocketIORedisTests",
            dependencies: [
                "CanalSocketIORedis",
                "CanalRedisTestSupport",
                "CanalRedis",
                "CanalSocketIO",
                "CanalSocketIOCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CanalEventSourceTests",
            dependencies: [
                "CanalEventSource",
                "CanalHTTP",
                "CanalSSECore",
                "CanalWebSocket",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "CanalSSECoreTests",
            dependencies: ["CanalSSECore"]
        ),
        .testTarget(
            name: "CanalWebSocketCoreTests",
            dependencies: ["CanalWebSocketCore"]
        ),
        .testTarget(
            name: "CanalWebSocketCompressionTests",
            dependencies: [
                "CanalWebSocketCompression",
                "CanalWebSocket",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CanalHTTPTests",
            dependencies: [
                "CanalHTTP",
                "CanalDemoSite",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CanalWebSocketTests",
            dependencies: ["CanalWebSocket", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
