import CanalWebSocketCore
import FuzzSupport

// A server endpoint reading whatever a client sends: frames, fragments, control frames,
// close bodies, UTF-8 (RFC 6455 §5-§8), with small limits so that they are reached.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketServer(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var driver = ConnectionDriver(
        endpoint: WebSocketConnection(role: .server, configuration: ConnectionDriver.limits),
        peer: WebSocketConnection(role: .client, configuration: .conformance)
    )
    driver.run(FuzzInput(start, count))
    return 0
}

@_cdecl("FuzzWebSocketServer_main")
public func fuzzWebSocketServerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzWebSocketServer(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
