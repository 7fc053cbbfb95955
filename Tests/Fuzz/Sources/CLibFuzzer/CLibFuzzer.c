// The declarations in include/CLibFuzzer.h are all this module provides.
#include "CLibFuzzer.h"
