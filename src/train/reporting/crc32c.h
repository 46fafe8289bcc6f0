#pragma once
// CRC-32C (Castagnoli), the checksum of TFRecord framing in TensorBoard event files, and the
// "masked" form TFRecord stores (so that a CRC of data holding CRCs is not degenerate).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dtrain::train::reporting {

uint32_t crc32c(std::string_view data);
uint32_t masked_crc32c(std::string_view data);

}  // namespace dtrain::train::reporting
