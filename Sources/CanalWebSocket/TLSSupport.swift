import NIOCore
import NIOSSL

/// The certificate a server presents for `https://` and `wss://`.
public struct WebSocketServerTLS: Sendable, Hashable {
    /// PEM file with the certificate chain, leaf first.
    public var certificateChainFile: String
    /// PEM file with the private key.
    public var privateKeyFile: String
    /// The passphrase of an encrypted private key.
    public var privateKeyPassphrase: String?

    public init(certificateChainFile: String, privateKeyFile: String, privateKeyPassphrase: String? = nil) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.privateKeyPassphrase = privateKeyPassphrase
    }

    /// Loads the certificate and key and makes the context that every connection of a
    /// server shares (put a `NIOSSLServerHandler(context:)` first in each pipeline). Use it
    /// to serve TLS from your own NIO server with the same files and passphrase handling as
    /// `WebSocketServer`.
    ///
    /// - Parameter applicationProtocols: offered by ALPN, most preferred first; an HTTP/1.1
    ///   server that shares its port with WebSocket passes `["http/1.1"]` so that browsers
    ///   do not try HTTP/2. Empty (the default) leaves ALPN out.
    /// - Throws: when a file cannot be read or parsed, or the passphrase is wrong.
    public func makeServerContext(applicationProtocols: [String] = []) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try loadPrivateKey(privateKeyFile, passphrase: privateKeyPassphrase)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        configuration.applicationProtocols = applicationProtocols
        return try NIOSSLContext(configuration: configuration)
    }
}

extension WebSocketClientTLS {
    func makeContext() throws -> NIOSSLContext {
        try NIOSSLContext(configuration: makeTLSConfiguration())
    }

    /// These settings as a NIOSSL client configuration, with the certificate and key files
    /// loaded: for other clients (an HTTP client, say) that must trust and present the
    /// same certificates as the WebSocket client.
    ///
    /// - Throws: when a file cannot be read or parsed, or the passphrase is wrong.
    public func makeTLSConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch trustRoots {
        case .system: configuration.trustRoots = .default
        case .file(let path): configuration.trustRoots = .file(path)
        }
        if !verifiesCertificates {
            configuration.certificateVerification = .none
        }
        if let chainFile = certificateChainFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(chainFile).map { .certificate($0) }
        }
        if let keyFile = privateKeyFile {
            configuration.privateKey = try loadPrivateKey(keyFile, passphrase: privateKeyPassphrase)
        }
        return configuration
    }
}

private func loadPrivateKey(_ path: String, passphrase: String?) throws -> NIOSSLPrivateKeySource {
    guard let passphrase else { return .privateKey(try NIOSSLPrivateKey(file: path, format: .pem)) }
    let key = try NIOSSLPrivateKey(file: path, format: .pem) { provide in
        provide(Array(passphrase.utf8))
    }
    return .privateKey(key)
}

/// True when `host` is an IP address literal (server name indication takes names only).
func isIPAddress(_ host: String) -> Bool {
    (try? SocketAddress(ipAddress: host, port: 0)) != nil
}
