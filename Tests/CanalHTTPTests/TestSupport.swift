import CanalHTTP
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Fails instead of hanging when `operation` takes longer than `limit`.
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(10),
    _ what: String = "operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "\(what) timed out" }
}

/// A throwaway folder with a few files, removed by `remove()`.
struct TemporarySite {
    let root: URL
    var publicPath: String { root.appendingPathComponent("public").path }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("canal-http-\(UUID().uuidString)")
        let folder = root.appendingPathComponent("public")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("css"), withIntermediateDirectories: true)
        try Data("<!DOCTYPE html><title>home</title>\n".utf8).write(to: folder.appendingPathComponent("index.html"))
        try Data("body { color: teal; }\n".utf8).write(to: folder.appendingPathComponent("css/site.css"))
        try Data("outside\n".utf8).write(to: root.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("link.txt").path,
            withDestinationPath: "../secret.txt"
        )
        var large = Data(capacity: 1 << 20)
        for index in 0..<(1 << 20) { large.append(UInt8(truncatingIfNeeded: index &* 31 &+ index >> 8)) }
        try large.write(to: folder.appendingPathComponent("large.bin"))
    }

    func file(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent("public").appendingPathComponent(path)))
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
    }
}

/// A self-signed certificate for 127.0.0.1, made with `openssl req -x509`.
struct TemporaryCertificate {
    let folder: URL
    var certificate: String { folder.appendingPathComponent("cert.pem").path }
    var key: String { folder.appendingPathComponent("key.pem").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("canal-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", folder.appendingPathComponent("key.pem").path,
            "-out", folder.appendingPathComponent("cert.pem").path,
            "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TimedOut(what: "openssl exited with \(process.terminationStatus)")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// An HTTP response as read off the wire.
struct WireResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// Parses one response at the start of `bytes`; nil while incomplete. `bodyless` is
    /// for answers to HEAD.
    static func parse(_ bytes: [UInt8], bodyless: Bool = false) -> (WireResponse, consumed: Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = WireResponse(status: status, headers: headers, body: [])
        let length =
            (bodyless || status == 304 || status == 204 || status < 200)
            ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        let start = end + 4
        guard bytes.count >= start + length else { return nil }
        response.body = Array(bytes[start..<(start + length)])
        return (response, start + length)
    }
}

/// A TCP client that records what it receives.
final class RawConnection: Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state: NIOLockedValueBox<([UInt8], Bool)>
        init(_ state: NIOLockedValueBox<([UInt8], Bool)>) { self.state = state }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLockedValue { $0.0.append(contentsOf: buffer.readableBytesView) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.1 = true }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    let channel: any Channel
    private let state: NIOLockedValueBox<([UInt8], Bool)>

    private init(channel: any Channel, state: NIOLockedValueBox<([UInt8], Bool)>) {
        self.channel = channel
        self.state = state
    }

    static func connect(port: Int) async throws -> RawConnection {
        let state = NIOLockedValueBox<([UInt8], Bool)>(([], false))
        let channel = try await ClientBootstrap(group: rawPeerGroup)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(state))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawConnection(channel: channel, state: state)
    }

    var bytes: [UInt8] { state.withLockedValue { $0.0 } }
    var isClosed: Bool { state.withLockedValue { $0.1 } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Waits until `count` responses arrived and returns them. `bodyless` holds the
    /// indices of answers to HEAD.
    func responses(_ count: Int, bodyless: Set<Int> = [], within limit: Duration = .seconds(20)) async throws
        -> [WireResponse]
    {
        let deadline = ContinuousClock.now + limit
        while true {
            let closed = isClosed
            var parsed: [WireResponse] = []
            var rest = bytes
            while parsed.count < count,
                let (response, consumed) = WireResponse.parse(rest, bodyless: bodyless.contains(parsed.count))
            {
                parsed.append(response)
                rest.removeFirst(consumed)
            }
            if parsed.count == count { return parsed }
            if closed || ContinuousClock.now >= deadline {
                throw TimedOut(what: "\(count) responses (got \(parsed.count), \(bytes.count) bytes)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func waitForClose(within limit: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + limit
        while !isClosed {
            guard ContinuousClock.now < deadline else { throw TimedOut(what: "close") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func close() {
        channel.close(promise: nil)
    }
}

extension HTTPServer {
    var port: Int { localAddress.port! }
}

/// The raw test peers' event loops, apart from NIO's singleton (one thread per core), which
/// the clients under test share: a test that keeps a loop busy must not hold up the bytes
/// and timers that another test measures. Each test server gets a loop of its own too.
let rawPeerGroup = MultiThreadedEventLoopGroup(numberOfThreads: 4)

/// The loops of the test servers that a test binds by hand, for the same reason.
let testServerGroup = MultiThreadedEventLoopGroup(numberOfThreads: 4)
