import CanalWebSocket
import NIOSSL

extension WebSocketServerTLS {
    /// The TLS context for `https://` and `wss://` on one port. It offers `http/1.1` by
    /// ALPN, so browsers do not try HTTP/2.
    func makeHTTPContext() throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key: NIOSSLPrivateKey
        if let passphrase = privateKeyPassphrase {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem) { $0(Array(passphrase.utf8)) }
        } else {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}
