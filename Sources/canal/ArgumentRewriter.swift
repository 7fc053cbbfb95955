/// Accepts wscat spellings that ArgumentParser has no form for, before parsing.
enum ArgumentRewriter {
    /// Options that take a value, so that a value spelled like an option is left alone.
    private static let takesValue: Set<String> = [
        "-c", "--connect", "-l", "--listen", "--bind", "-H", "--header", "-s", "--subprotocol",
        "-o", "--origin", "--host", "-p", "--protocol", "--auth", "-x", "--execute", "-w", "--wait",
        "--ca", "--cert", "--key", "--passphrase", "--max-redirects", "--max-reconnects", "--connect-timeout",
        "--namespace", "--transport", "--path", "--ack-timeout",
    ]

    /// - `-V` alone: `--version`.
    /// - `--passphrase` with no value after it: `--passphrase-prompt` (ask on the terminal).
    static func rewrite(_ arguments: [String]) -> [String] {
        if arguments == ["-V"] { return ["--version"] }
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            if argument == "--passphrase" {
                let next = index + 1 < arguments.count ? arguments[index + 1] : nil
                if next == nil || next!.hasPrefix("-") {
                    result.append("--passphrase-prompt")
                    index += 1
                    continue
                }
            }
            result.append(argument)
            if takesValue.contains(argument), index + 1 < arguments.count {
                result.append(arguments[index + 1])
                index += 1
            }
            index += 1
        }
        return result
    }

    /// The command whose help is asked for (`canal`, `connect`, `listen`, ...), or nil.
    /// `canal --help`, `canal connect -h`, `canal help listen`.
    static func helpTarget(_ arguments: [String]) -> String? {
        if arguments.isEmpty { return "canal" }
        if arguments.first == "help" { return arguments.count > 1 ? arguments[1] : "canal" }
        var index = 0
        var command = "canal"
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { return nil }
            if argument == "-h" || argument == "--help" { return command }
            if index == 0, !argument.hasPrefix("-") { command = argument }
            if takesValue.contains(argument) { index += 1 }
            index += 1
        }
        return nil
    }
}
