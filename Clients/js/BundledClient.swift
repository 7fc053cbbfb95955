import Foundation

/// Our browser Socket.IO client (`socket.io.js` beside this file), as the server hands it
/// out at `/socket.io/socket.io.js`.
public enum BundledClient {
    /// The script's source, or nil when the resource bundle is missing (a binary copied
    /// away from its bundle).
    public static var source: Data? {
        // `Bundle.module` stops the process when it finds no bundle, so look first.
        let besideExecutable = Bundle.main.bundleURL
        let names = ["Canal_CanalSocketIOBrowserClient.resources", "Canal_CanalSocketIOBrowserClient.bundle"]
        let found = names.contains {
            FileManager.default.fileExists(atPath: besideExecutable.appendingPathComponent($0).path)
        }
        guard found else { return nil }
        guard let url = Bundle.module.url(forResource: "socket.io", withExtension: "js") else { return nil }
        return try? Data(contentsOf: url)
    }
}
