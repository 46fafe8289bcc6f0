#include "data/tokenizers/sentencepiece.h"

#include <dlfcn.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "common/error.h"
#include "common/sha256.h"

namespace dtrain::data {
namespace fs = std::filesystem;

namespace {

// Where the build put the shim, then the folder of the running executable (for a copied build).
std::vector<fs::path> shim_candidates() {
  std::vector<fs::path> candidates{DTRAIN_SENTENCEPIECE_SHIM};
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(executable.parent_path() / fs::path(DTRAIN_SENTENCEPIECE_SHIM).filename());
  return candidates;
}

const spm::Library& library() {
  // Loaded once and never unloaded: models and their vtables live in it.
  static const spm::Library* const loaded = [] {
    std::string failures;
    for (const fs::path& candidate : shim_candidates()) {
      if (!fs::exists(candidate)) continue;
      // RTLD_DEEPBIND: SentencePiece binds to its own symbols before LibTorch's (sentencepiece_api.h).
      void* handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!handle) {
        failures += std::string("; ") + ::dlerror();
        continue;
      }
      using Entry = const spm::Library* (*)();
      const auto entry = reinterpret_cast<Entry>(::dlsym(handle, "dtrain_sentencepiece_library"));
      DTRAIN_ASSERT(entry, "{} has no dtrain_sentencepiece_library", candidate.string());
      return entry();
    }
    DTRAIN_FAIL(
        "cannot load SentencePiece: {} not found or not loadable{} (build the dtrain_sentencepiece target)",
        fs::path(DTRAIN_SENTENCEPIECE_SHIM).filename().string(), failures);
  }();
  return *loaded;
}

// SentencePiece's status text without its source location and failed condition:
// "Internal: ./src/trainer_interface.cc(660) [(a) == (b)] Vocabulary size too high (60). ..." keeps
// "Vocabulary size too high (60). ...".
std::string readable(const std::string& message) {
  const std::size_t location = message.find(") [");
  const std::size_t condition_end = location == std::string::npos ? location : message.find("] ", location);
  return condition_end == std::string::npos ? message : message.substr(condition_end + 2);
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  DTRAIN_CHECK(in.good(), "{}: cannot open", path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DTRAIN_CHECK(!in.bad(), "{}: read error", path.string());
  return bytes;
}

}  // namespace

SentencePieceModel SentencePieceModel::from_file(const fs::path& path) {
  DTRAIN_CHECK(fs::is_regular_file(path), "{}: not found", path.string());
  return SentencePieceModel(read_bytes(path), path.string());
}

SentencePieceModel::SentencePieceModel(const std::string& serialized, std::string name)
    : name_(std::move(name)), sha256_(sha256_hex(serialized)) {
  try {
    model_ = library().load(serialized);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    DTRAIN_FAIL("{}: not a SentencePiece model: {}", name_, readable(e.what()));
  }
}

std::vector<std::string> SentencePieceModel::encode(std::string_view text) const {
  try {
    return model_->encode(text);
  } catch (const std::exception& e) {
    DTRAIN_FAIL("{}: SentencePiece cannot encode the text: {}", name_, readable(e.what()));
  }
}

std::string SentencePieceModel::decode(const std::vector<std::string>& pieces) const {
  try {
    return model_->decode(pieces);
  } catch (const std::exception& e) {
    DTRAIN_FAIL("{}: SentencePiece cannot decode the pieces: {}", name_, readable(e.what()));
  }
}

std::string SentencePieceModel::piece(int id) const {
  DTRAIN_ASSERT(id >= 0 && id < size(), "{}: piece id {} out of range", name_, id);
  return model_->piece(id);
}

spm::PieceKind SentencePieceModel::kind(int id) const {
  DTRAIN_ASSERT(id >= 0 && id < size(), "{}: piece id {} out of range", name_, id);
  return model_->kind(id);
}

std::string train_sentencepiece(const std::map<std::string, std::string>& options,
                                const std::vector<std::string>& sentences, unsigned int seed) {
  try {
    return library().train(options, sentences, seed);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    DTRAIN_FAIL("{}", readable(e.what()));
  }
}

std::string sentencepiece_version() {
  return library().version();
}

}  // namespace dtrain::data
