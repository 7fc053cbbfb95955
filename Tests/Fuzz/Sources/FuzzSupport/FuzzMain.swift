import CLibFuzzer

/// Runs libFuzzer with the command line of the process on `testOneInput`. Each target's
/// `<Module>_main` entry point calls it (see CLibFuzzer.h for why).
public func runLibFuzzer(
    argc: CInt,
    argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
}
