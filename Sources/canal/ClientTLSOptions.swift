import ArgumentParser
import CanalWebSocket
import Foundation

/// The TLS options of the client modes (`-c` and `canal io`): what to trust and what to
/// present for `wss://` and `https://`.
struct ClientTLSOptions: ParsableArguments {
    @Flag(
        name: [.customShort("n"), .customLong("no-check")],
        help: "Do not check the server's TLS certificate (testing only).")
    var noCheck = false

    @Option(
        help: ArgumentHelp("Trust the CA certificates in this PEM file instead of the system's.", valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("Client certificate chain (PEM) for servers that ask for one.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Private key (PEM) of --cert.", valueName: "file"))
    var key: String?

    @Option(
        help: ArgumentHelp(
            "Passphrase of --key; without a value it is asked for on the terminal.", valueName: "passphrase"))
    var passphrase: String?

    /// Set by `ArgumentRewriter` when `--passphrase` comes without a value, as wscat allows.
    @Flag(name: .customLong("passphrase-prompt"), help: .hidden)
    var passphrasePrompt = false

    /// The flags given, for errors that name options used in the wrong mode.
    var given: [String] {
        var given: [String] = []
        if noCheck { given.append("-n") }
        if ca != nil { given.append("--ca") }
        if cert != nil { given.append("--cert") }
        if key != nil { given.append("--key") }
        if passphrase != nil || passphrasePrompt { given.append("--passphrase") }
        return given
    }

    /// Checks the files and asks for the passphrase if it is to be typed.
    func makeTLS() throws(ValidationError) -> WebSocketClientTLS {
        for (flag, path) in [("--ca", ca), ("--cert", cert), ("--key", key)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("cannot read the \(flag) file \(DisplayText.quoted(path))")
            }
        }
        if key != nil, cert == nil { throw ValidationError("--key needs --cert (the certificate it belongs to)") }
        return WebSocketClientTLS(
            trustRoots: ca.map { .file($0) } ?? .system,
            verifiesCertificates: !noCheck,
            certificateChainFile: cert,
            privateKeyFile: key,
            privateKeyPassphrase: try resolvedPassphrase()
        )
    }

    private func resolvedPassphrase() throws(ValidationError) -> String? {
        if let passphrase { return passphrase }
        guard passphrasePrompt else { return nil }
        guard let typed = Terminal.readSecret(prompt: "Passphrase: ") else {
            throw ValidationError(
                "--passphrase without a value needs a terminal to ask on; give the passphrase as its value")
        }
        return typed
    }
}
