// swift-tools-version: 6.1
// Fuzz targets for every parser that reads a peer's bytes, built apart from Canal's own
// package with libFuzzer and AddressSanitizer (bench/fuzz/README.md says how to run them).
import PackageDescription

/// One fuzz target per parser: its name (its folder under Sources/, holding a main.swift
/// that defines `LLVMFuzzerTestOneInput`) and the products it needs. Adding a target is one
/// line here, that folder, and seeds under Corpus/<name>/.
let fuzzTargets: [(name: String, products: [String])] = [
    ("FuzzWebSocketServer", ["CanalWebSocketCore"]),
    ("FuzzWebSocketClient", ["CanalWebSocketCore"]),
    ("FuzzWebSocketDeflate", ["CanalWebSocketCore", "CanalWebSocketCompression"]),
    ("FuzzDeflateParameters", ["CanalWebSocketCore", "CanalWebSocketCompression"]),
    ("FuzzServerHandshake", ["CanalWebSocketCore"]),
    ("FuzzClientHandshake", ["CanalWebSocketCore"]),
    ("FuzzHTTPRequestHead", ["CanalHTTP", "CanalWebSocket"]),
    ("FuzzEnginePayload", ["CanalEngineIOCore"]),
    ("FuzzSocketIOPacket", ["CanalSocketIOCore"]),
    ("FuzzRESP", ["CanalRedis"]),
    ("FuzzMessagePack", ["CanalSocketIOCore", "CanalSocketIORedis"]),
    ("FuzzServerSentEvents", ["CanalSSECore"]),
]

let package = Package(
    name: "CanalFuzz",
    dependencies: [
        .package(name: "Canal", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CLibFuzzer",
                .product(name: "CanalWebSocketCore", package: "Canal"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        )
    ]
        + fuzzTargets.map { target in
            .executableTarget(
                name: target.name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                    .product(name: "NIOEmbedded", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                    .product(name: "Logging", package: "swift-log"),
                ] + target.products.map { .product(name: $0, package: "Canal") }
            )
        },
    swiftLanguageModes: [.v6]
)
