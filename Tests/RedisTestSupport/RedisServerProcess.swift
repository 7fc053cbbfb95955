import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` (Debian's package) on a free loopback port, with nothing saved to
/// disk, started and stopped by the test.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    private let arguments: [String]
    private var pid: pid_t?

    public init(arguments: [String] = [], port: Int? = nil) throws {
        self.port = try port ?? Self.freePort()
        self.arguments = arguments
        try start()
    }

    deinit { stop() }

    static var executable: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return (paths + ["/usr/bin", "/usr/local/bin"]).map { $0 + "/redis-server" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    public func start() throws {
        guard let executable = Self.executable else {
            throw TestFailure("redis-server not found: install Debian's redis-server (scripts/debian-packages.txt)")
        }
        let arguments = [
            executable, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--protected-mode", "no", "--logfile", "",
        ] + self.arguments
        // posix_spawn, not Foundation's Process: its waitUntilExit hung here when called
        // from a test task, and its children kept the test runner's output pipe open.
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, &argv, environ)
        guard status == 0 else { throw TestFailure("could not start redis-server: error \(status)") }
        pid = child
        try waitUntilListening()
    }

    public func stop() { end(SIGTERM) }

    /// SIGKILL: no goodbye to clients.
    public func kill() { end(SIGKILL) }

    private func end(_ signal: Int32) {
        guard let pid else { return }
        self.pid = nil
        // A paused (SIGSTOP) server would never act on SIGTERM.
        _ = Glibc.kill(pid, SIGCONT)
        _ = Glibc.kill(pid, signal)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(10_000)
        }
        _ = Glibc.kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }

    /// SIGSTOP / SIGCONT: the server keeps its connections but answers nothing.
    public func pause() { pid.map { _ = Glibc.kill($0, SIGSTOP) } }
    public func resume() { pid.map { _ = Glibc.kill($0, SIGCONT) } }

    /// Plain blocking sockets: this runs before any event loop is involved.
    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.canConnect(port: port) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("redis-server did not listen on port \(port) within 10 s")
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port the kernel just gave out on 127.0.0.1 and that nobody holds now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestFailure("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
