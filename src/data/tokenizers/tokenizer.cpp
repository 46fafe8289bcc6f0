#include "data/tokenizers/tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/tokenizers/bert_tokenizer.h"
#include "data/tokenizers/marian_tokenizer.h"

namespace dtrain::data {
namespace fs = std::filesystem;

namespace {

// tokenizer_config.json's tokenizer_class, or "" when the file or the key is absent or unreadable
// (the loaders report a broken file themselves).
std::string tokenizer_class(const fs::path& folder) {
  std::ifstream in(folder / "tokenizer_config.json", std::ios::binary);
  if (!in) return "";
  const auto config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return "";
  const auto found = config.find("tokenizer_class");
  return found != config.end() && found->is_string() ? found->get<std::string>() : "";
}

bool is_marian_folder(const fs::path& folder) {
  return fs::is_regular_file(folder / "source.spm") || tokenizer_class(folder) == "MarianTokenizer";
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& folder) {
  DTRAIN_CHECK(fs::is_directory(folder), "{}: tokenizer folder not found", folder.string());
  if (is_marian_folder(folder))
    return std::make_unique<MarianTokenizer>(MarianTokenizer::from_folder(folder));
  if (fs::is_regular_file(folder / "vocab.txt")) {
    return std::make_unique<BertTokenizer>(BertTokenizer::from_folder(folder));
  }
  DTRAIN_FAIL(
      "{}: not a tokenizer folder dtrain reads: it has neither vocab.txt (BERT WordPiece) nor source.spm and "
      "vocab.json (Marian)",
      folder.string());
}

bool is_tokenizer_folder(const fs::path& folder) {
  return fs::is_directory(folder) && (is_marian_folder(folder) || fs::is_regular_file(folder / "vocab.txt"));
}

}  // namespace dtrain::data
