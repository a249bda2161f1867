// test_fluids compiles only tests/fluids/*.cpp; the DLF reference (dlf_reference.cpp) uses the
// continuous convolution reference of tests/layers, so its definitions are compiled in here too.
// (A shared test-helper library in tests/CMakeLists.txt would replace this file.)
#include "layers/cconv_reference.cpp"  // NOLINT(bugprone-suspicious-include)
