import ArgumentParser

/// `-s`, shared by connect and listen mode.
struct SubprotocolOptions: ParsableArguments {
    @Option(
        name: [.customShort("s"), .customLong("subprotocol")],
        help: ArgumentHelp(
            "A subprotocol to offer (connect) or accept (listen). Repeat for more, most preferred first.",
            valueName: "protocol"
        )
    )
    var subprotocols: [String] = []
}
