// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Canal",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CanalWebSocketCore", targets: ["CanalWebSocketCore"]),
        .library(name: "CanalWebSocket", targets: ["CanalWebSocket"]),
        .executable(name: "canal", targets: ["canal"]),
        .executable(name: "echo-server", targets: ["EchoServer"]),
        .executable(name: "periodic-client", targets: ["PeriodicClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // RFC 6455 without I/O: bytes in, events and bytes out.
        .target(
            name: "CanalWebSocketCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // SwiftNIO driver: server, client, async and W3C-style APIs.
        .target(
            name: "CanalWebSocket",
            dependencies: [
                "CanalWebSocketCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "canal",
            dependencies: [
                "CanalWebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "EchoServer",
            dependencies: ["CanalWebSocket", .product(name: "Logging", package: "swift-log")],
            path: "Examples/EchoServer"
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/TestPeer"
        ),
        .testTarget(
            name: "CanalWebSocketCoreTests",
            dependencies: ["CanalWebSocketCore"]
        ),
        .testTarget(
            name: "CanalWebSocketTests",
            dependencies: ["CanalWebSocket"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
