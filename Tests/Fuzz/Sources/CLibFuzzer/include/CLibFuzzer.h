#ifndef CANAL_CLIBFUZZER_H
#define CANAL_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in the toolchain's libclang_rt.fuzzer), called from each target's
/// entry point: SwiftPM links an executable's `main` to `<Module>_main`, so libFuzzer's
/// own `main` is not the one that runs.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
