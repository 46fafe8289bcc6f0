#include "common/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>
#include <vector>

#include "common/error.h"

namespace dtrain {
namespace {

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) {
    DTRAIN_ASSERT(context_ && EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) == 1,
                  "OpenSSL SHA-256 initialisation failed");
  }
  void update(const void* data, size_t size) {
    DTRAIN_ASSERT(EVP_DigestUpdate(context_.get(), data, size) == 1, "OpenSSL SHA-256 update failed");
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    DTRAIN_ASSERT(EVP_DigestFinal_ex(context_.get(), digest.data(), &length) == 1, "OpenSSL SHA-256 failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
      out.push_back(kHex[digest[i] >> 4]);
      out.push_back(kHex[digest[i] & 15]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context_;
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path, uint64_t from_offset) {
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in, "{}: cannot open for reading", path.string());
  in.seekg(static_cast<std::streamoff>(from_offset));
  DTRAIN_CHECK(in, "{}: cannot seek to byte {}", path.string(), from_offset);
  Sha256 hash;
  std::vector<char> buffer(size_t{1} << 20);
  while (in) {
    in.read(buffer.data(), buffer.size());
    if (in.gcount() > 0) hash.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  DTRAIN_CHECK(in.eof(), "{}: read error", path.string());
  return hash.hex();
}

}  // namespace dtrain
