#pragma once
// `dtrain train-tokenizer --type marian`: trains SentencePiece models on a parallel corpus and writes
// a Hugging Face Marian tokenizer folder (MarianTokenizer and AutoTokenizer load it):
//
//   source.spm, target.spm   one SentencePiece model per language, trained on its side of the corpus
//   vocab.json               the model vocabulary: "</s>" 0, "<unk>" 1, the pieces of source.spm, those of
//                            target.spm it lacks, "<pad>" last (opus-mt's layout: one vocabulary shared
//                            by encoder and decoder)
//   target_vocab.json        with separate_vocabs only: vocab.json holds source.spm's pieces and this file
//                            target.spm's, in the same layout, so both have vocab_size tokens and <pad>
//                            has the same id in both
//   tokenizer_config.json    tokenizer_class MarianTokenizer, separate_vocabs, languages, special tokens
//   model_config_fields.json the MarianConfig fields the vocabulary fixes (vocab_size, pad_token_id =
//                            decoder_start_token_id, eos_token_id, ...), see MarianTokenizer
//
// The same inputs and options give byte-identical files. The folder is written under a temporary
// name next to `output` and renamed when complete.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace dtrain::data {

struct MarianTrainingOptions {
  std::filesystem::path source_file, target_file, output;
  int vocab_size = 8000;  // pieces per SentencePiece model
  bool separate_vocabs = false;
  std::string model_type = "unigram";      // SentencePiece: unigram, bpe, char, word
  double character_coverage = 1.0;         // share of the characters that get pieces of their own
  std::string normalization = "nmt_nfkc";  // SentencePiece normalization_rule_name
  int64_t sample_lines = 0;                // train on this many lines drawn at random; 0: all
  int max_line_bytes = 4192;               // longer lines are left out of training (counted)
  uint32_t seed = 1;                       // draws the sample
  int threads = 16;                        // SentencePiece's trainer threads; the models depend on it
  std::optional<std::string> source_lang, target_lang;
  bool overwrite = false;  // replace an existing output folder
  bool verbose = false;    // SentencePiece's own training log on stderr
};

struct MarianTrainingSummary {
  struct Side {
    std::string file;
    int64_t lines = 0, empty = 0, too_long = 0,
            reserved = 0;  // reserved: hold U+2047, which SentencePiece skips
    int pieces = 0;
  };
  Side source, target;
  std::string output;
  bool separate_vocabs = false;
  int vocab_size = 0, target_vocab_size = 0;
  int32_t pad_id = 0, eos_id = 0, unk_id = 0;

  // Lines: what was trained on what, the vocabulary, and the MarianConfig ids.
  std::string to_string() const;
};

MarianTrainingSummary train_marian_tokenizer(const MarianTrainingOptions& options);

}  // namespace dtrain::data
