import CanalWebSocketCore
import FuzzSupport

// A client endpoint reading whatever a server sends (RFC 6455 §5-§8), with small limits.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketClient(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var driver = ConnectionDriver(
        endpoint: WebSocketConnection(role: .client, configuration: ConnectionDriver.limits, maskingKeys: { .random() }),
        peer: WebSocketConnection(role: .server, configuration: .conformance)
    )
    driver.run(FuzzInput(start, count))
    return 0
}

@_cdecl("FuzzWebSocketClient_main")
public func fuzzWebSocketClientMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzWebSocketClient(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
