// The Marian tokenizer against transformers' MarianTokenizer (tests/reference/marian_tokenizer_reference.py)
// on folders that `dtrain train-tokenizer` builds from Multi30k, and its errors on small folders of its own.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/sha256.h"
#include "data/tokenizers/marian_tokenizer.h"
#include "data/tokenizers/marian_training.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::ScratchDir;
using testing::write_file;

fs::path reference_script() {
  return testing::source_dir() / "tests/reference/marian_tokenizer_reference.py";
}

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

CommandResult dtrain(const std::string& arguments) {
  return testing::run_command(quoted(testing::dtrain_binary()) + " " + arguments);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Lines split on "\n" only, a final "\r" dropped: what the reference script reads.
std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

void copy_folder(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

json read_json(const fs::path& path) {
  return json::parse(read_text(path));
}

void write_json(const fs::path& path, const json& value) {
  write_file(path, value.dump(2));
}

// The header the reference writes for a folder must match the tokenizer's sizes and special ids, and
// AutoTokenizer must load the folder as a MarianTokenizer.
void expect_header_matches(const json& header, const Tokenizer& tokenizer) {
  EXPECT_EQ(header.at("auto_class"), "MarianTokenizer");
  EXPECT_EQ(header.at("length").get<int>(), tokenizer.vocab_size()) << header;
  const SpecialTokenIds ids = tokenizer.special_ids();
  EXPECT_EQ(header.at("pad").get<int32_t>(), ids.pad);
  EXPECT_EQ(header.at("eos").get<int32_t>(), *ids.eos);
  EXPECT_EQ(header.at("unk").get<int32_t>(), ids.unk);
  EXPECT_EQ(ids.decoder_start, ids.pad);
}

// --- Folders that `dtrain train-tokenizer` trains on Multi30k (once per test binary run): the opus-mt
// layout (unigram, one shared vocabulary) and separate vocabularies (BPE).

class Multi30k : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto shared = testing::shared_data();
    if (!shared || !fs::is_directory(*shared / "multi30k")) return;
    corpus_ = *shared / "multi30k";
    scratch_ = new ScratchDir("dtrain-marian");
    const auto train = [&](const std::string& name, const std::string& options) {
      const CommandResult result = dtrain(fmt::format(
          "train-tokenizer --type marian --source {} --target {} --output {} --threads 2 --source-lang en "
          "--target-lang fr {}",
          quoted(corpus_ / "train.en"), quoted(corpus_ / "train.fr"), quoted(*scratch_ / name), options));
      if (result.exit_code != 0) training_failures_ += name + ": " + result.output;
    };
    // A sample of the lines keeps the training to seconds; every line is encoded below.
    train("shared", "--vocab-size 1000 --sample 8000");
    train("separate", "--vocab-size 800 --model-type bpe --separate-vocabs");
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }
  void SetUp() override {
    DTRAIN_REQUIRE_SHARED_DATA(shared);
    if (corpus_.empty()) DTRAIN_MISSING_REFERENCE("../shared/data/multi30k not found");
    ASSERT_TRUE(training_failures_.empty()) << training_failures_;
  }
  static fs::path folder(const std::string& name) { return *scratch_ / name; }

  static fs::path corpus_;
  static ScratchDir* scratch_;
  static std::string training_failures_;
};
fs::path Multi30k::corpus_;
ScratchDir* Multi30k::scratch_ = nullptr;
std::string Multi30k::training_failures_;

// Every line of every Multi30k file (en as source, fr as target) at a max_length that truncates some
// of them: ids and decoded targets equal transformers' on the shared folder; val and test also on the
// separate-vocabulary one.
TEST_F(Multi30k, MatchesTransformersOnEveryLine) {
  DTRAIN_REQUIRE_PYTHON("transformers sentencepiece");
  constexpr int kMaxLength = 24;
  const std::vector<std::string> splits{"train", "val", "test_2016_flickr"};
  std::string arguments;
  for (const auto& [name, splits_of] : {std::pair{std::string("shared"), splits},
                                        {"separate", std::vector<std::string>{"val", "test_2016_flickr"}}}) {
    arguments += " --folder " + quoted(folder(name));
    for (const std::string& split : splits_of)
      arguments += " " + quoted(corpus_ / (split + ".en")) + " " + quoted(corpus_ / (split + ".fr"));
  }
  const fs::path expected = *scratch_ / "corpus.jsonl";
  const CommandResult generated =
      testing::run_command(fmt::format("'{}' {} corpus {} {}{}", testing::python(),
                                       quoted(reference_script()), kMaxLength, quoted(expected), arguments));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;

  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  std::map<std::string, std::vector<std::string>> lines;  // by file name
  std::map<std::string, int> rows_per_file;
  int mismatches = 0, truncated = 0;
  const Tokenizer* tokenizer = nullptr;
  std::string folder_name;
  for (const json& row : read_jsonl(expected)) {
    if (row.contains("auto_class")) {
      folder_name = fs::path(row.at("folder").get<std::string>()).filename().string();
      tokenizers[folder_name] = load_tokenizer(row.at("folder").get<std::string>());
      tokenizer = tokenizers[folder_name].get();
      expect_header_matches(row, *tokenizer);
      continue;
    }
    const auto source = row.at("source").get<std::string>();
    const std::string target = source.substr(0, source.size() - 2) + "fr";
    if (!lines.count(source)) {
      lines[source] = read_lines(corpus_ / source);
      lines[target] = read_lines(corpus_ / target);
    }
    const auto line = row.at("line").get<std::size_t>();
    ++rows_per_file[folder_name + "/" + source];
    const std::vector<int32_t> input_ids = tokenizer->encode(lines[source][line - 1], kMaxLength);
    const std::vector<int32_t> labels = tokenizer->encode_target(lines[target][line - 1], kMaxLength);
    const std::string decoded = tokenizer->decode(labels);
    truncated += input_ids.size() == kMaxLength;
    if (input_ids == row.at("input_ids").get<std::vector<int32_t>>() &&
        labels == row.at("labels").get<std::vector<int32_t>>() &&
        decoded == row.at("decoded").get<std::string>())
      continue;
    if (++mismatches <= 10) {
      ADD_FAILURE() << folder_name << " " << source << ":" << line << "\n  " << lines[source][line - 1]
                    << "\n  " << lines[target][line - 1] << "\n  reference: " << row.dump()
                    << "\n  decoded: " << decoded;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(truncated, 100) << "max_length should truncate some lines";
  EXPECT_EQ(rows_per_file["shared/train.en"], 29000);
  EXPECT_EQ(rows_per_file["shared/val.en"], 1014);
  EXPECT_EQ(rows_per_file["shared/test_2016_flickr.en"], 1000);
  EXPECT_EQ(rows_per_file["separate/val.en"], 1014);
  EXPECT_EQ(rows_per_file["separate/test_2016_flickr.en"], 1000);
}

// Texts that exercise special tokens written in the text, language codes, characters SentencePiece
// normalises or does not know, whitespace and truncation, on the trained folders and on variants of
// their configuration that Hugging Face folders use.
TEST_F(Multi30k, SpecialTokensLanguageCodesAndFolderVariantsMatchTransformers) {
  DTRAIN_REQUIRE_PYTHON("transformers sentencepiece");
  const json texts = {
      "",
      " ",
      "  Two men  in   a boat .  ",
      "A man </s> in <unk> a <pad> hat",
      "</s>",
      "x</s>y</s></s>",
      ">>fr<< A man in a boat.",
      ">>fr<<",
      ">>xx<<a dog",
      ">> no code here",
      "a >>fr<< b",
      "Emoji 😀, 中文, Ωmega and ǅ.",
      "tab\tand\u00a0no-break\u3000ideographic",
      "Ünïcödé façade naïve Æsir",
      "the ⁇ character",
      "line\u2028separator and \u200bzero width",
      "ﬁne ① ＡＢＣ ½ ㎏",
      "\u2581 lower one eighth block \u2581\u2581",
      "don't it's we're I'm they've , . ! ?",
      "<e> <eop> <eo <eopx> plain<added>text",
      "A very long sentence with many words that goes on and on about a man in a red shirt who is walking "
      "his dog along a busy street in the middle of the city while children play in the park nearby.",
  };
  const fs::path texts_file = *scratch_ / "texts.json";
  write_json(texts_file, texts);

  // Variants of the shared folder: (1) tokens added as transformers' save_pretrained records them, extra
  // special tokens, a piece renamed in vocab.json (so SentencePiece's piece for it is unknown);
  // (2) a vocab.json without <pad>, which transformers then appends; (3) left truncation and
  // clean_up_tokenization_spaces; (4) special and added tokens in a legacy special_tokens_map.json and
  // added_tokens.json; (5) the
  // variant (1) as transformers' save_pretrained writes it.
  const fs::path added = *scratch_ / "variant-added";
  copy_folder(folder("shared"), added);
  json vocab = read_json(added / "vocab.json");
  const int vocab_size = static_cast<int>(vocab.size());
  const int32_t renamed_id = vocab.at("\u2581man");
  vocab.erase("\u2581man");
  vocab["\u2581man-renamed"] = renamed_id;
  write_json(added / "vocab.json", vocab);
  json config = read_json(added / "tokenizer_config.json");
  config["extra_special_tokens"] = {"<e>", "<eop>"};
  config["added_tokens_decoder"] = {
      {"0", {{"content", "</s>"}, {"special", true}}},
      {std::to_string(vocab_size), {{"content", "<added>"}, {"special", false}, {"normalized", false}}},
      {std::to_string(vocab_size + 1), {{"content", "<marked>"}, {"special", true}}},
  };
  write_json(added / "tokenizer_config.json", config);

  const fs::path no_pad = *scratch_ / "variant-no-pad";
  copy_folder(folder("shared"), no_pad);
  vocab = read_json(no_pad / "vocab.json");
  vocab.erase("<pad>");
  write_json(no_pad / "vocab.json", vocab);

  const fs::path left = *scratch_ / "variant-left";
  copy_folder(folder("shared"), left);
  config = read_json(left / "tokenizer_config.json");
  config["truncation_side"] = "left";
  config["clean_up_tokenization_spaces"] = true;
  write_json(left / "tokenizer_config.json", config);

  const fs::path legacy = *scratch_ / "variant-legacy";
  copy_folder(folder("shared"), legacy);
  write_json(legacy / "tokenizer_config.json",
             {{"tokenizer_class", "MarianTokenizer"}, {"source_lang", "en"}, {"target_lang", "fr"}});
  write_json(legacy / "special_tokens_map.json", {{"eos_token", "</s>"},
                                                  {"unk_token", "<unk>"},
                                                  {"pad_token", "<pad>"},
                                                  {"additional_special_tokens", {"<e>"}}});
  write_json(legacy / "added_tokens.json", {{"<added>", vocab_size}});

  constexpr int kMaxLength = 12;
  const fs::path expected = *scratch_ / "texts.jsonl";
  const CommandResult generated = testing::run_command(
      fmt::format("'{}' {} texts {} {} {} {} {} {} {} {} {} '{}=>{}'", testing::python(),
                  quoted(reference_script()), kMaxLength, quoted(texts_file), quoted(expected),
                  quoted(folder("shared")), quoted(folder("separate")), quoted(added), quoted(no_pad),
                  quoted(left), quoted(legacy), added.string(), (*scratch_ / "variant-resaved").string()));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;

  std::unique_ptr<Tokenizer> tokenizer;
  std::string name;
  int compared = 0;
  for (const json& row : read_jsonl(expected)) {
    if (row.contains("auto_class")) {
      name = row.at("folder").get<std::string>();
      tokenizer = load_tokenizer(name);
      expect_header_matches(row, *tokenizer);
      continue;
    }
    const auto text = row.at("text").get<std::string>();
    const std::string where = name + ": " + json(text).dump();
    const std::vector<int32_t> labels = tokenizer->encode_target(text, kMaxLength);
    EXPECT_EQ(tokenizer->encode(text, kMaxLength), row.at("input_ids").get<std::vector<int32_t>>()) << where;
    EXPECT_EQ(labels, row.at("labels").get<std::vector<int32_t>>()) << where;
    EXPECT_EQ(tokenizer->decode(labels), row.at("decoded").get<std::string>()) << where;
    EXPECT_EQ(tokenizer->decode(labels, false), row.at("decoded_with_special").get<std::string>()) << where;
    ++compared;
  }
  EXPECT_EQ(compared, 7 * static_cast<int>(texts.size()));
}

// --- Small folders trained on a corpus made up here (no shared data needed).

// Sentences of a small vocabulary, the same on every run.
std::string tiny_corpus(const std::vector<std::string>& words, int lines) {
  std::string text;
  uint64_t state = 12345;
  for (int line = 0; line < lines; ++line) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const int length = 4 + static_cast<int>((state >> 33) % 6);
    for (int i = 0; i < length; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      text += (i ? " " : "") + words[(state >> 33) % words.size()];
    }
    text += ".\n";
  }
  return text;
}

const std::vector<std::string> kEnglish = {"the", "a",   "man",  "woman",  "dog",  "runs", "sits", "on", "in",
                                           "red", "big", "park", "street", "with", "ball", "hat",  "and"};
const std::vector<std::string> kFrench = {"le",    "la",   "un",    "homme",  "femme", "chien",
                                          "court", "sur",  "dans",  "rouge",  "grand", "parc",
                                          "rue",   "avec", "balle", "chapeau"};

class TinyMarian : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(scratch_ / "corpus.en", tiny_corpus(kEnglish, 300));
    write_file(scratch_ / "corpus.fr", tiny_corpus(kFrench, 300));
  }
  MarianTrainingOptions options(const std::string& output) const {
    MarianTrainingOptions options;
    options.source_file = scratch_ / "corpus.en";
    options.target_file = scratch_ / "corpus.fr";
    options.output = scratch_ / output;
    options.vocab_size = 36;
    options.threads = 2;
    return options;
  }
  fs::path trained(const std::string& output = "tok") const {
    train_marian_tokenizer(options(output));
    return scratch_ / output;
  }
  ScratchDir scratch_{"dtrain-tiny-marian"};
};

TEST_F(TinyMarian, TrainedFolderHasTheOpusMtLayout) {
  MarianTrainingOptions shared_options = options("shared");
  shared_options.source_lang = "en";
  shared_options.target_lang = "fr";
  train_marian_tokenizer(shared_options);
  const fs::path shared = scratch_ / "shared";
  for (const char* name :
       {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json", "model_config_fields.json"})
    EXPECT_TRUE(fs::is_regular_file(shared / name)) << name;
  EXPECT_FALSE(fs::exists(shared / "target_vocab.json"));
  const json vocab = read_json(shared / "vocab.json");
  EXPECT_EQ(vocab.at("</s>"), 0);
  EXPECT_EQ(vocab.at("<unk>"), 1);
  EXPECT_EQ(vocab.at("<pad>"), vocab.size() - 1);
  // The pieces of both models, each once.
  const auto source_pieces =
      MarianTokenizer::from_folder(shared).tokenize_to_pieces("the dog", TextSide::kSource);
  const auto target_pieces =
      MarianTokenizer::from_folder(shared).tokenize_to_pieces("le chien", TextSide::kTarget);
  for (const auto& piece : source_pieces) EXPECT_TRUE(vocab.contains(piece)) << piece;
  for (const auto& piece : target_pieces) EXPECT_TRUE(vocab.contains(piece)) << piece;
  EXPECT_GT(vocab.size(), 36u);
  EXPECT_LT(vocab.size(), 2 * 36u);
  const json fields = read_json(shared / "model_config_fields.json");
  EXPECT_EQ(fields.at("vocab_size"), vocab.size());
  EXPECT_EQ(fields.at("decoder_vocab_size"), vocab.size());
  EXPECT_EQ(fields.at("pad_token_id"), vocab.size() - 1);
  EXPECT_EQ(fields.at("decoder_start_token_id"), vocab.size() - 1);
  EXPECT_EQ(fields.at("eos_token_id"), 0);
  EXPECT_EQ(fields.at("forced_eos_token_id"), 0);
  EXPECT_EQ(fields.at("share_encoder_decoder_embeddings"), true);
  const json config = read_json(shared / "tokenizer_config.json");
  EXPECT_EQ(config.at("tokenizer_class"), "MarianTokenizer");
  EXPECT_EQ(config.at("source_lang"), "en");
  EXPECT_EQ(config.at("target_lang"), "fr");
  EXPECT_EQ(config.at("separate_vocabs"), false);

  // Separate vocabularies have one size, so <pad> has one id for the encoder and the decoder.
  MarianTrainingOptions separate_options = options("separate");
  separate_options.separate_vocabs = true;
  train_marian_tokenizer(separate_options);
  const fs::path separate = scratch_ / "separate";
  const json source_vocab = read_json(separate / "vocab.json");
  const json target_vocab = read_json(separate / "target_vocab.json");
  EXPECT_EQ(source_vocab.size(), 36u);
  EXPECT_EQ(target_vocab.size(), 36u);
  EXPECT_EQ(source_vocab.at("<pad>"), 35);
  EXPECT_EQ(target_vocab.at("<pad>"), 35);
  EXPECT_EQ(read_json(separate / "model_config_fields.json").at("share_encoder_decoder_embeddings"), false);
  EXPECT_EQ(read_json(separate / "tokenizer_config.json").at("separate_vocabs"), true);

  const auto tokenizer = load_tokenizer(shared);
  EXPECT_EQ(tokenizer->type(), "marian");
  EXPECT_EQ(tokenizer->model_files(),
            (std::vector<std::string>{"source.spm", "target.spm", "vocab.json", "tokenizer_config.json"}));
  EXPECT_EQ(load_tokenizer(separate)->model_files(),
            (std::vector<std::string>{"source.spm", "target.spm", "vocab.json", "target_vocab.json",
                                      "tokenizer_config.json"}));
}

TEST_F(TinyMarian, ConcurrentCallsGiveTheSerialResults) {
  const auto tokenizer = load_tokenizer(trained());
  const std::vector<std::string> sources = read_lines(scratch_ / "corpus.en");
  const std::vector<std::string> targets = read_lines(scratch_ / "corpus.fr");
  const auto encode_all = [&] {
    std::vector<std::vector<int32_t>> ids;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      ids.push_back(tokenizer->encode(sources[i], 64));
      ids.push_back(tokenizer->encode_target(targets[i], 64));
    }
    return ids;
  };
  const auto serial = encode_all();
  std::vector<std::vector<std::vector<int32_t>>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = encode_all(); });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, serial);
}

TEST_F(TinyMarian, PiecesMissingFromVocabJsonAreUnknown) {
  const fs::path folder = trained();
  const auto before = MarianTokenizer::from_folder(folder);
  const std::vector<std::string> pieces = before.tokenize_to_pieces("the dog", TextSide::kSource);
  ASSERT_FALSE(pieces.empty());
  json vocab = read_json(folder / "vocab.json");
  const int32_t id = vocab.at(pieces[0]);
  vocab.erase(pieces[0]);
  vocab["renamed"] = id;
  write_json(folder / "vocab.json", vocab);
  const auto after = MarianTokenizer::from_folder(folder);
  EXPECT_EQ(after.tokenize_to_pieces("the dog", TextSide::kSource), pieces);
  std::vector<int32_t> expected = before.tokenize("the dog", TextSide::kSource);
  expected[0] = after.special_ids().unk;
  EXPECT_EQ(after.tokenize("the dog", TextSide::kSource), expected);
  // Characters SentencePiece has never seen come back as themselves, and are unknown too.
  EXPECT_EQ(after.tokenize("\xE2\x98\x83", TextSide::kSource).back(), after.special_ids().unk);
}

TEST_F(TinyMarian, EncodeAppendsEosAndTruncatesToMaxLengthMinusOne) {
  const auto tokenizer = MarianTokenizer::from_folder(trained());
  const std::vector<int32_t> ids = tokenizer.tokenize("the man and the woman in the park", TextSide::kSource);
  ASSERT_GT(ids.size(), 4u);
  std::vector<int32_t> expected(ids.begin(), ids.begin() + 3);
  expected.push_back(0);
  EXPECT_EQ(tokenizer.encode("the man and the woman in the park", 4), expected);
  EXPECT_EQ(tokenizer.encode("", 4), std::vector<int32_t>{0});
  EXPECT_EQ(tokenizer.encode("the man", 1), std::vector<int32_t>{0});
  EXPECT_DTRAIN_ERROR(tokenizer.encode("the man", 0),
                      "max_length 0 cannot hold the end-of-sequence token </s>");
  EXPECT_DTRAIN_ERROR(tokenizer.encode("ab\xC3", 8), "invalid UTF-8 at byte 2");
  EXPECT_DTRAIN_ERROR(tokenizer.decode({0, 100000}), "token id 100000 is outside the vocabulary");
}

TEST_F(TinyMarian, TrainingIsDeterministicAndReportsTheIds) {
  const MarianTrainingSummary summary = train_marian_tokenizer(options("first"));
  trained("second");
  for (const char* name :
       {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json", "model_config_fields.json"})
    EXPECT_EQ(sha256_file_hex(scratch_ / "first" / name), sha256_file_hex(scratch_ / "second" / name))
        << name;
  const json vocab = read_json(scratch_ / "first" / "vocab.json");
  EXPECT_EQ(summary.vocab_size, static_cast<int>(vocab.size()));
  EXPECT_EQ(summary.pad_id, summary.vocab_size - 1);
  EXPECT_EQ(summary.eos_id, 0);
  EXPECT_EQ(summary.unk_id, 1);
  EXPECT_EQ(summary.source.lines, 300);
  EXPECT_EQ(summary.source.pieces, 36);
  EXPECT_NE(summary.to_string().find("pad_token_id " + std::to_string(summary.pad_id) +
                                     " (= decoder_start_token_id)"),
            std::string::npos)
      << summary.to_string();
  // Nothing but the folder is left next to it.
  for (const auto& entry : fs::directory_iterator(scratch_.path()))
    EXPECT_EQ(entry.path().filename().string().rfind(".", 0), std::string::npos) << entry.path();
}

TEST_F(TinyMarian, TrainingErrorsNameTheFileAndLeaveNoFolder) {
  MarianTrainingOptions bad = options("out");
  bad.vocab_size = 5000;
  EXPECT_DTRAIN_ERROR(
      train_marian_tokenizer(bad), (scratch_ / "corpus.en").string(),
      ": cannot train a 5000-piece SentencePiece model: Vocabulary size too high (5000). Please set it "
      "to a value <= ");
  write_file(scratch_ / "empty.en", "\n\r\n");
  bad = options("out");
  bad.source_file = scratch_ / "empty.en";
  EXPECT_DTRAIN_ERROR(train_marian_tokenizer(bad), "empty.en: no text to train on (2 lines: 2 empty");
  write_file(scratch_ / "broken.fr", "le chien\nla \xFF balle\n");
  bad = options("out");
  bad.target_file = scratch_ / "broken.fr";
  EXPECT_DTRAIN_ERROR(train_marian_tokenizer(bad), "broken.fr:2: invalid UTF-8 at byte 3");
  bad = options("out");
  bad.source_file = scratch_ / "missing.en";
  EXPECT_DTRAIN_ERROR(train_marian_tokenizer(bad), "missing.en: not found");
  EXPECT_FALSE(fs::exists(scratch_ / "out"));
  for (const auto& entry : fs::directory_iterator(scratch_.path()))
    EXPECT_EQ(entry.path().filename().string().rfind(".", 0), std::string::npos) << entry.path();

  trained("out");
  EXPECT_DTRAIN_ERROR(train_marian_tokenizer(options("out")), "exists and is not empty (pass --overwrite");
  MarianTrainingOptions again = options("out");
  again.overwrite = true;
  again.separate_vocabs = true;
  train_marian_tokenizer(again);
  EXPECT_TRUE(fs::exists(scratch_ / "out" / "target_vocab.json"));
}

TEST_F(TinyMarian, FolderErrorsNameTheFileAndEntry) {
  const fs::path folder = trained();
  const auto error_of = [&] { return testing::error_message([&] { MarianTokenizer::from_folder(folder); }); };
  const std::string vocab_path = (folder / "vocab.json").string();
  const std::string original_vocab = read_text(folder / "vocab.json");

  write_file(folder / "vocab.json", "{\"</s>\": 0, \"<unk>\": 1,");
  EXPECT_EQ(error_of().rfind(vocab_path + ": invalid JSON: ", 0), 0u) << error_of();
  write_file(folder / "vocab.json", "[\"</s>\"]");
  EXPECT_EQ(error_of(), vocab_path + ": must be a non-empty JSON object of token -> id");
  write_file(folder / "vocab.json", R"({"</s>": 0, "<unk>": 1, "a": 1})");
  EXPECT_EQ(error_of(), vocab_path + ": tokens '<unk>' and 'a' both have id 1");
  write_file(folder / "vocab.json", R"({"</s>": 0, "<unk>": 1, "a": 3})");
  EXPECT_EQ(error_of(), vocab_path + ": token 'a' has id 3, but 3 tokens need ids 0 to 2 without gaps");
  write_file(folder / "vocab.json", R"({"</s>": 0, "<unk>": "1"})");
  EXPECT_EQ(error_of(), vocab_path + ": token '<unk>' has id \"1\"; ids must be integers from 0");
  write_file(folder / "vocab.json", R"({"</s>": 0, "<pad>": 1})");
  EXPECT_EQ(error_of(), vocab_path + ": the unk_token '<unk>' is not in it");
  write_file(folder / "vocab.json", original_vocab);

  const std::string config_path = (folder / "tokenizer_config.json").string();
  const std::string original_config = read_text(folder / "tokenizer_config.json");
  write_file(folder / "tokenizer_config.json", R"({"separate_vocabs": true})");
  EXPECT_EQ(error_of(), (folder / "target_vocab.json").string() +
                            ": not found (tokenizer_config.json sets separate_vocabs)");
  write_file(folder / "tokenizer_config.json",
             R"({"sp_model_kwargs": {"enable_sampling": true, "alpha": 0.1}})");
  EXPECT_EQ(error_of(), config_path +
                            ": sp_model_kwargs.enable_sampling = true is not supported: dtrain encodes "
                            "deterministically with the SentencePiece model as it is");
  write_file(folder / "tokenizer_config.json",
             R"({"added_tokens_decoder": {"3": {"content": "<x>", "lstrip": true}}})");
  EXPECT_EQ(error_of(),
            config_path + ": added_tokens_decoder: token '<x>' sets lstrip, which dtrain does not support");
  write_file(folder / "tokenizer_config.json", R"({"pad_token": null})");
  EXPECT_EQ(error_of(), config_path + ": pad_token is null, but a Marian tokenizer needs one");
  write_file(folder / "tokenizer_config.json", R"({"truncation_side": "middle"})");
  EXPECT_EQ(error_of(), config_path + ": truncation_side must be 'right' or 'left', got 'middle'");
  write_file(folder / "tokenizer_config.json", R"({"separate_vocabs": "no"})");
  EXPECT_EQ(error_of().rfind(config_path + ": unexpected content: ", 0), 0u) << error_of();
  write_file(folder / "tokenizer_config.json", original_config);

  write_file(folder / "target.spm", "not a model");
  EXPECT_EQ(error_of().rfind((folder / "target.spm").string() + ": not a SentencePiece model", 0), 0u)
      << error_of();
  fs::remove(folder / "source.spm");
  EXPECT_EQ(error_of(), (folder / "source.spm").string() + ": not found");
}

TEST_F(TinyMarian, TrainTokenizerCommandPrintsTheIdsOrOneErrorLine) {
  const CommandResult trained_folder = dtrain(fmt::format(
      "train-tokenizer --type marian --source {} --target {} --vocab-size 36 --threads 2 --output {}",
      quoted(scratch_ / "corpus.en"), quoted(scratch_ / "corpus.fr"), quoted(scratch_ / "cli")));
  ASSERT_EQ(trained_folder.exit_code, 0) << trained_folder.output;
  const json fields = read_json(scratch_ / "cli" / "model_config_fields.json");
  EXPECT_NE(trained_folder.output.find(
                fmt::format("MarianConfig: vocab_size {}", fields.at("vocab_size").get<int>())),
            std::string::npos)
      << trained_folder.output;

  const CommandResult failed = dtrain(fmt::format(
      "train-tokenizer --type marian --source {} --target {} --vocab-size 36 --output {}",
      quoted(scratch_ / "corpus.en"), quoted(scratch_ / "missing.fr"), quoted(scratch_ / "cli2")));
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_EQ(failed.output, "dtrain: error: " + (scratch_ / "missing.fr").string() + ": not found\n");
  EXPECT_FALSE(fs::exists(scratch_ / "cli2"));
}

}  // namespace
}  // namespace dtrain::data
