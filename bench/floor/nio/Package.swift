// swift-tools-version:6.1
// A bench-only probe, kept out of the Canal package: see ../README.md (bench/floor).
import PackageDescription

let package = Package(
    name: "NIOFloor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(name: "Canal", path: "../../.."),
    ],
    targets: [
        .executableTarget(
            name: "nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CanalWebSocketCore", package: "Canal"),
            ],
            path: "Sources/NIOFloor"
        ),
    ]
)
