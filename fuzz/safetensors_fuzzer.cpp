// libFuzzer target: a .safetensors file opened and every tensor's bytes touched, so a view that
// points outside the mapping is an AddressSanitizer report. dtrain::Error is the expected outcome
// for damaged input. Seed with any model.safetensors (fuzz/README.md).
#include <cstdint>

#include "common/error.h"
#include "fuzz_file.h"
#include "model/hf/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path = dtrain::fuzz::scratch_file(".safetensors");
  dtrain::fuzz::write_input(path, "", data, size);
  try {
    const dtrain::model::SafetensorsFile file(path);
    volatile uint8_t checksum = 0;
    for (const auto& tensor : file.tensors()) {
      for (size_t i = 0; i < tensor.size; ++i) checksum = checksum + static_cast<uint8_t>(tensor.data[i]);
    }
  } catch (const dtrain::Error&) {
  }
  return 0;
}
