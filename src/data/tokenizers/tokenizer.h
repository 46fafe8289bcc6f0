#pragma once
// One interface for the tokenizers dtrain reads from Hugging Face folders: BERT WordPiece
// (bert_tokenizer.h) and Marian SentencePiece (marian_tokenizer.h). It holds what data preparation,
// training (vocabulary checks, tokenizer files in model folders) and translation (decoding) need;
// BertTokenizer keeps its richer API (sentence pairs, token types) for classification.
// Implementations are immutable after loading and safe to call from several threads.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dtrain::data {

// Ids of the special tokens; nullopt where a tokenizer has no such token.
struct SpecialTokenIds {
  int32_t pad = 0;
  int32_t unk = 0;
  std::optional<int32_t> eos;            // appended to every Marian sequence
  std::optional<int32_t> decoder_start;  // first decoder input of a seq2seq model (Marian: pad)
  std::optional<int32_t> cls, sep;       // BERT's [CLS] a [SEP]
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // "bert" or "marian".
  virtual std::string type() const = 0;

  // Ids of a (source) text with the special tokens the model expects, at most `max_length` of them
  // (it must hold the special tokens). As Hugging Face's tokenizer(text, truncation=True, max_length=...).
  virtual std::vector<int32_t> encode(std::string_view text, int max_length) const = 0;
  // Ids of a target text (labels of a seq2seq model), as tokenizer(text_target=text, ...). Throws
  // dtrain::Error for tokenizers without a target side.
  virtual std::vector<int32_t> encode_target(std::string_view text, int max_length) const = 0;
  // Text of target ids, as Hugging Face's decode(ids, skip_special_tokens=...). Throws dtrain::Error
  // for an id outside the vocabulary.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const = 0;

  virtual SpecialTokenIds special_ids() const = 0;
  // One more than the largest id encode() can produce (the encoder's embedding rows) ...
  virtual int vocab_size() const = 0;
  // ... and encode_target() / decode() (the decoder's); equal unless the vocabularies are separate.
  virtual int target_vocab_size() const = 0;
  // SHA-256 (hex) of the vocabulary's tokens in id order joined with "\n": what the ids mean, whatever
  // the file's layout. target_vocab_sha256() is that of the target vocabulary (the same one unless
  // separate).
  virtual const std::string& vocab_sha256() const = 0;
  virtual const std::string& target_vocab_sha256() const = 0;
  // Settings that change the ids, as one JSON object (recorded in prepared datasets).
  virtual std::string settings_json() const = 0;
  // Names of the files of the folder that make a model folder loadable with Hugging Face's
  // AutoTokenizer (the ones present).
  virtual std::vector<std::string> model_files() const = 0;
  // Files (name -> contents) a model folder needs beside model_files() for AutoTokenizer to tokenize
  // as this tokenizer does, written from its settings where the folder lacks them. None by default.
  virtual std::map<std::string, std::string> generated_model_files() const { return {}; }
};

// Loads a Hugging Face tokenizer folder, detecting its type: Marian when it has source.spm or
// tokenizer_config.json names MarianTokenizer, BERT WordPiece when it has vocab.txt. Errors name the
// folder or file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& folder);

// Whether `folder` holds the files of a tokenizer load_tokenizer() can read (without loading it).
bool is_tokenizer_folder(const std::filesystem::path& folder);

}  // namespace dtrain::data
