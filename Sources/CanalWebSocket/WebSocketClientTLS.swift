/// How a client secures `wss://` connections.
public struct WebSocketClientTLS: Sendable, Hashable {
    /// Where trusted root certificates come from.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's store.
        case system
        /// A PEM file of CA certificates (replaces the system store).
        case file(String)
    }

    public var trustRoots: TrustRoots
    /// Check the server's certificate and host name. Turn off only for testing.
    public var verifiesCertificates: Bool
    /// A PEM certificate chain to present to servers that ask for one.
    public var certificateChainFile: String?
    /// The PEM private key for `certificateChainFile`.
    public var privateKeyFile: String?
    /// The passphrase of an encrypted private key.
    public var privateKeyPassphrase: String?

    public init(
        trustRoots: TrustRoots = .system,
        verifiesCertificates: Bool = true,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        privateKeyPassphrase: String? = nil
    ) {
        self.trustRoots = trustRoots
        self.verifiesCertificates = verifiesCertificates
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.privateKeyPassphrase = privateKeyPassphrase
    }
}
