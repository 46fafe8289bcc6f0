#include <gtest/gtest.h>
#include <utf8proc.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/sha256.h"
#include "data/tokenizers/bert_normalizer.h"
#include "data/tokenizers/bert_pre_tokenizer.h"
#include "data/tokenizers/bert_tokenizer.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path reference_script() {
  return testing::source_dir() / "tests/reference/bert_tokenizer_reference.py";
}

fs::path bert_folder(const fs::path& shared) {
  return shared / "vocab" / "bert-base-uncased";
}

std::vector<std::string> tokens_of(const BertTokenizer& tokenizer, std::string_view text) {
  std::vector<std::string> tokens;
  for (int32_t id : tokenizer.tokenize(text)) tokens.push_back(tokenizer.vocab()[id]);
  return tokens;
}

// A vocabulary small enough that every expected id can be read off it.
BertTokenizer tiny_tokenizer(TokenizerSettings settings = {}) {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff",     "##able",
                                    "a",     "##a",   "b",     "##b",   ",",      "!",  "i\xCC\x87", "x"};
  return BertTokenizer(std::move(vocab), std::move(settings));
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no dtrain::Error thrown)";
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

std::optional<std::string_view> text_b_of(const json& row) {
  const auto found = row.find("text_b");
  if (found == row.end() || found->is_null()) return std::nullopt;
  return found->get_ref<const std::string&>();
}

// --- Behaviour on the bert-base-uncased vocabulary (expected tokens checked against the Rust tokenizer).

class BertBaseUncased : public ::testing::Test {
 protected:
  void SetUp() override {
    DTRAIN_REQUIRE_SHARED_DATA(shared);
    tokenizer_.emplace(BertTokenizer::from_folder(bert_folder(shared)));
  }
  std::vector<std::string> tokens(std::string_view text) const { return tokens_of(*tokenizer_, text); }
  std::optional<BertTokenizer> tokenizer_;
};

using Tokens = std::vector<std::string>;

TEST_F(BertBaseUncased, LoadsSettingsAndSpecialIdsFromTheFolder) {
  EXPECT_EQ(tokenizer_->vocab_size(), 30522);
  EXPECT_EQ(tokenizer_->pad_id(), 0);
  EXPECT_EQ(tokenizer_->unk_id(), 100);
  EXPECT_EQ(tokenizer_->cls_id(), 101);
  EXPECT_EQ(tokenizer_->sep_id(), 102);
  EXPECT_TRUE(tokenizer_->settings().lowercase);
  EXPECT_FALSE(tokenizer_->settings().strip_accents.has_value());
  EXPECT_EQ(json::parse(tokenizer_->settings().to_json()).at("max_input_chars_per_word"), 100);
}

TEST_F(BertBaseUncased, StripsAccentsAndLowercases) {
  EXPECT_EQ(tokens("Café Ñandú RÉSUMÉ"), (Tokens{"cafe", "nan", "##du", "resume"}));
  EXPECT_EQ(tokens("İstanbul"), (Tokens{"istanbul"}));
}

TEST_F(BertBaseUncased, IsolatesCjkIdeographs) {
  EXPECT_EQ(tokens("中文abc的"), (Tokens{"中", "文", "abc", "的"}));
}

TEST_F(BertBaseUncased, RemovesControlCharactersAndMapsWhitespace) {
  // U+0001, U+200B (Cf), U+FFFD and NUL vanish without splitting the word; U+000B is a control
  // character here, not whitespace.
  EXPECT_EQ(tokens(std::string("a\x01"
                               "b\u200B"
                               "c\uFFFD"
                               "d") +
                   '\0' + "e"),
            (Tokens{"abc", "##de"}));
  EXPECT_EQ(tokens("a\tb\u00A0c\u3000d\ve"), (Tokens{"a", "b", "c", "de"}));
}

TEST_F(BertBaseUncased, IsolatesAsciiAndUnicodePunctuation) {
  EXPECT_EQ(tokens("hello,world!"), (Tokens{"hello", ",", "world", "!"}));
  EXPECT_EQ(tokens("$5^3~x"), (Tokens{"$", "5", "^", "3", "~", "x"}));
  EXPECT_EQ(tokens("a¿b—c«d»"), (Tokens{"a", "¿", "b", "—", "c", "«", "d", "»"}));
}

TEST_F(BertBaseUncased, KeepsSpecialTokensWrittenInTheText) {
  EXPECT_EQ(tokens("a [SEP] b [sep] [CLS]x"), (Tokens{"a", "[SEP]", "b", "[", "sep", "]", "[CLS]", "x"}));
  EXPECT_EQ(tokens("[SEP"), (Tokens{"[", "sep"}));
}

TEST_F(BertBaseUncased, WordsOverOneHundredCharactersAreUnknown) {
  EXPECT_EQ(tokens(std::string(101, 'x')), (Tokens{"[UNK]"}));
  const Tokens pieces = tokens(std::string(100, 'x'));
  ASSERT_EQ(pieces.size(), 50u);
  EXPECT_EQ(pieces.front(), "xx");
  EXPECT_EQ(pieces.back(), "##xx");
  EXPECT_EQ(tokens("☃☃ ǅemal"), (Tokens{"[UNK]", "[UNK]"}));
}

TEST_F(BertBaseUncased, VocabSha256IsOfTheTokensJoinedByNewlines) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  std::ifstream in(bert_folder(shared) / "vocab.txt", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(text.back(), '\n');
  text.pop_back();
  EXPECT_EQ(tokenizer_->vocab_sha256(), sha256_hex(text));
}

TEST_F(BertBaseUncased, ConcurrentCallsGiveTheSerialResults) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  const auto rows = read_jsonl(shared / "fixtures" / "tokenizer-bert-base-uncased.jsonl");
  const auto encode_all = [&] {
    std::vector<std::vector<int32_t>> ids;
    for (const json& row : rows) {
      ids.push_back(tokenizer_->encode(row.at("text_a").get<std::string>(), text_b_of(row), 64).input_ids);
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

// --- Mechanics on a vocabulary small enough to read every id off it.

std::string repeat_word(const char* word, int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += (i ? " " : "") + std::string(word);
  return text;
}

constexpr int32_t kCls = 2, kSep = 3, kA = 8, kB = 10;

// input ids of [CLS] a×n_a [SEP] (b×n_b [SEP]).
std::vector<int32_t> expected_ids(int n_a, std::optional<int> n_b) {
  std::vector<int32_t> ids{kCls};
  ids.insert(ids.end(), n_a, kA);
  ids.push_back(kSep);
  if (n_b) {
    ids.insert(ids.end(), *n_b, kB);
    ids.push_back(kSep);
  }
  return ids;
}

TEST(BertTokenizerWordPiece, MatchesLongestPiecesFirst) {
  const auto tokenizer = tiny_tokenizer();
  EXPECT_EQ(tokenizer.tokenize("unaffable"), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(tokenizer.tokenize("aab,"), (std::vector<int32_t>{8, 9, 11, 12}));
  // One piece missing ("##x") turns the whole word into [UNK], not just the tail.
  EXPECT_EQ(tokenizer.tokenize("unaffablex !"), (std::vector<int32_t>{1, 13}));
}

TEST(BertTokenizerWordPiece, HonoursMaxInputCharsPerWord) {
  TokenizerSettings settings;
  settings.max_input_chars_per_word = 5;
  const auto tokenizer = tiny_tokenizer(settings);
  EXPECT_EQ(tokenizer.tokenize("aaaaa"), (std::vector<int32_t>{8, 9, 9, 9, 9}));
  EXPECT_EQ(tokenizer.tokenize("aaaaaa"), (std::vector<int32_t>{1}));
}

TEST(BertTokenizerWordPiece, LowercasesDottedCapitalIAsRustDoesWithoutAccentStripping) {
  TokenizerSettings settings;
  settings.strip_accents = false;
  EXPECT_EQ(tiny_tokenizer(settings).tokenize("İ"), (std::vector<int32_t>{14}));  // "i" + U+0307
  EXPECT_EQ(tiny_tokenizer().tokenize("İ"), (std::vector<int32_t>{1}));           // "i": not in vocab
}

TEST(BertTokenizerTruncation, SingleSequenceKeepsItsHead) {
  const auto tokenizer = tiny_tokenizer();
  const Encoding encoding = tokenizer.encode(repeat_word("a", 10), std::nullopt, 6);
  EXPECT_EQ(encoding.input_ids, expected_ids(4, std::nullopt));
  EXPECT_EQ(encoding.token_type_ids, std::vector<int8_t>(6, 0));
  EXPECT_EQ(tokenizer.encode("", std::nullopt, 2).input_ids, expected_ids(0, std::nullopt));
}

TEST(BertTokenizerTruncation, PairsFollowLongestFirst) {
  const auto tokenizer = tiny_tokenizer();
  const auto encode = [&](int n_a, int n_b, int max_length) {
    return tokenizer.encode(repeat_word("a", n_a), repeat_word("b", n_b), max_length).input_ids;
  };
  // Both over half the budget: it is split, the odd token going to the second (equal lengths) ...
  EXPECT_EQ(encode(10, 10, 10), expected_ids(3, 4));
  EXPECT_EQ(encode(10, 10, 11), expected_ids(4, 4));
  // ... or to the longer sequence.
  EXPECT_EQ(encode(5, 4, 10), expected_ids(4, 3));
  EXPECT_EQ(encode(4, 5, 10), expected_ids(3, 4));
  EXPECT_EQ(encode(5, 4, 9), expected_ids(3, 3));
  // Only one over its share: the shorter is kept whole.
  EXPECT_EQ(encode(10, 2, 9), expected_ids(4, 2));
  EXPECT_EQ(encode(2, 10, 9), expected_ids(2, 4));
  // No room at all, and empty sequences.
  EXPECT_EQ(encode(5, 5, 3), expected_ids(0, 0));
  EXPECT_EQ(encode(5, 0, 4), expected_ids(1, 0));
  EXPECT_EQ(encode(0, 5, 4), expected_ids(0, 1));
  EXPECT_EQ(encode(3, 2, 512), expected_ids(3, 2));
}

TEST(BertTokenizerTruncation, TokenTypesMarkTheSecondSequence) {
  const Encoding encoding = tiny_tokenizer().encode("a a", "b", 16);
  EXPECT_EQ(encoding.input_ids, expected_ids(2, 1));
  EXPECT_EQ(encoding.token_type_ids, (std::vector<int8_t>{0, 0, 0, 0, 1, 1}));
}

TEST(BertTokenizerDecode, JoinsWordPiecesAndSkipsSpecialTokens) {
  const auto tokenizer = tiny_tokenizer();
  const std::vector<int32_t> ids = tokenizer.encode("unaffable a, b!", std::nullopt, 16).input_ids;
  EXPECT_EQ(tokenizer.decode(ids), "unaffable a, b!");
  EXPECT_EQ(tokenizer.decode(ids, false), "[CLS] unaffable a, b! [SEP]");
  EXPECT_EQ(tokenizer.decode({kA, 1, 0, kB}), "a b");
  EXPECT_EQ(tokenizer.decode({6, kA}), "##aff a");  // a leading continuation piece keeps its prefix
  EXPECT_DTRAIN_ERROR(tokenizer.decode({kA, 16}), "token id 16 is outside the vocabulary (16 tokens)");
}

TEST(BertTokenizerErrors, MaxLengthMustHoldTheSpecialTokens) {
  const auto tokenizer = tiny_tokenizer();
  EXPECT_EQ(message_of([&] { tokenizer.encode("a", "b", 2); }),
            "max_length 2 cannot hold the 3 special tokens of a sentence pair ([CLS] a [SEP] b [SEP])");
  EXPECT_EQ(message_of([&] { tokenizer.encode("a", std::nullopt, 1); }),
            "max_length 1 cannot hold the 2 special tokens of one sentence ([CLS] a [SEP])");
}

TEST(BertTokenizerErrors, InvalidUtf8NamesTheByte) {
  const auto tokenizer = tiny_tokenizer();
  EXPECT_EQ(message_of([&] { tokenizer.tokenize("ab\xC3"); }), "invalid UTF-8 at byte 2");    // truncated
  EXPECT_EQ(message_of([&] { tokenizer.tokenize("\xC0\x80"); }), "invalid UTF-8 at byte 0");  // overlong
  EXPECT_EQ(message_of([&] { tokenizer.tokenize("x\xED\xA0\x80"); }),
            "invalid UTF-8 at byte 1");  // surrogate
  EXPECT_EQ(message_of([&] { tokenizer.tokenize("\xF4\x90\x80\x80"); }),
            "invalid UTF-8 at byte 0");  // > U+10FFFF
  EXPECT_EQ(message_of([&] { tokenizer.tokenize("a\x80"); }),
            "invalid UTF-8 at byte 1");  // stray continuation
  EXPECT_EQ(message_of([&] { tokenizer.encode("a [SEP] \xFF", std::nullopt, 8); }),
            "invalid UTF-8 at byte 8");
}

TEST(BertTokenizerErrors, SpecialTokensMustBeInTheVocabulary) {
  EXPECT_EQ(message_of([] {
              BertTokenizer({"[PAD]", "[UNK]", "[CLS]", "[MASK]"}, {});
            }),
            "the sep_token '[SEP]' is not in the vocabulary");
  EXPECT_EQ(message_of([] {
              BertTokenizer({"[PAD]", "[CLS]"}, {});
            }),
            "the unknown token '[UNK]' is not in the vocabulary");
}

// --- Loading tokenizer folders.

const char* const kTinyVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\nhello\n";

TEST(BertTokenizerFolder, ReadsTokenizerConfig) {
  testing::ScratchDir folder;
  testing::write_file(folder / "vocab.txt", kTinyVocab);
  testing::write_file(folder / "tokenizer_config.json",
                      R"({"do_lower_case": false, "unk_token": {"content": "[UNK]"}})");
  const auto tokenizer = BertTokenizer::from_folder(folder.path());
  EXPECT_FALSE(tokenizer.settings().lowercase);
  EXPECT_EQ(tokenizer.tokenize("Hello hello"), (std::vector<int32_t>{5, 6}));
}

TEST(BertTokenizerFolder, CrlfVocabularyHasTheSameTokensAndSha) {
  testing::ScratchDir lf, crlf;
  testing::write_file(lf / "vocab.txt", kTinyVocab);
  testing::write_file(crlf / "vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nHello\r\nhello");
  const auto from_lf = BertTokenizer::from_folder(lf.path());
  const auto from_crlf = BertTokenizer::from_folder(crlf.path());
  EXPECT_EQ(from_crlf.vocab(), from_lf.vocab());
  EXPECT_EQ(from_crlf.vocab_sha256(), from_lf.vocab_sha256());
  EXPECT_EQ(from_lf.vocab_sha256(), sha256_hex("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\nhello"));
}

TEST(BertTokenizerFolder, ErrorsNameTheFile) {
  testing::ScratchDir folder;
  const std::string vocab_path = (folder / "vocab.txt").string();
  EXPECT_EQ(message_of([&] { BertTokenizer::from_folder(folder.path()); }),
            vocab_path + ": not found (a tokenizer folder needs vocab.txt)");

  testing::write_file(folder / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[MASK]\n");
  EXPECT_EQ(message_of([&] { BertTokenizer::from_folder(folder.path()); }),
            vocab_path + ": the sep_token '[SEP]' is not in the vocabulary");

  testing::write_file(folder / "vocab.txt", kTinyVocab);
  testing::write_file(folder / "tokenizer_config.json", "{\"do_lower_case\": tru");
  EXPECT_EQ(message_of([&] {
              BertTokenizer::from_folder(folder.path());
            }).rfind((folder / "tokenizer_config.json").string() + ": invalid JSON: ", 0),
            0u);

  testing::write_file(folder / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
  EXPECT_EQ(message_of([&] {
              BertTokenizer::from_folder(folder.path());
            }).rfind((folder / "tokenizer_config.json").string() + ": unexpected content: ", 0),
            0u);

  fs::remove(folder / "tokenizer_config.json");
  testing::write_file(
      folder / "tokenizer.json",
      R"({"normalizer": {"type": "NFC"}, "pre_tokenizer": null, "model": {"type": "WordPiece"}})");
  EXPECT_EQ(message_of([&] { BertTokenizer::from_folder(folder.path()); }),
            (folder / "tokenizer.json").string() +
                ": normalizer type 'NFC' is not supported (only BertNormalizer)");
}

TEST(BertTokenizerFolder, CopiesOutliveTheOriginal) {
  std::optional<BertTokenizer> original(tiny_tokenizer());
  const BertTokenizer copy = *original;
  original.reset();
  EXPECT_EQ(copy.tokenize("unaffable"), (std::vector<int32_t>{5, 6, 7}));
}

TEST(BertTokenizer, MatchesEveryFixtureRow) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  const auto tokenizer = BertTokenizer::from_folder(bert_folder(shared));
  const auto rows = read_jsonl(shared / "fixtures" / "tokenizer-bert-base-uncased.jsonl");
  ASSERT_EQ(rows.size(), 316u);
  for (const json& row : rows) {
    const Encoding encoding = tokenizer.encode(row.at("text_a").get<std::string>(), text_b_of(row),
                                               row.at("max_length").get<int>());
    const std::string where = fmt::format("{} row {} max_length {}", row.at("source").get<std::string>(),
                                          row.at("row").get<int>(), row.at("max_length").get<int>());
    EXPECT_EQ(encoding.input_ids, row.at("input_ids").get<std::vector<int32_t>>()) << where;
    EXPECT_EQ(encoding.token_type_ids, row.at("token_type_ids").get<std::vector<int8_t>>()) << where;
  }
}

// Every row of every GLUE train/dev file at three max lengths, against transformers' BertTokenizerFast
// (the Rust `tokenizers` crate), run by tests/reference/bert_tokenizer_reference.py; the ids decoded
// back to text too.
TEST(BertTokenizer, MatchesHuggingFaceTokenizerOnAllGlueFiles) {
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  DTRAIN_REQUIRE_PYTHON("transformers tokenizers");
  testing::ScratchDir scratch("dtrain-tokenizer-reference");
  const fs::path expected_path = scratch / "glue.jsonl";
  const auto generated = testing::run_command(
      fmt::format("'{}' '{}' glue '{}' '{}' '{}' 512 128 64", testing::python(), reference_script().string(),
                  bert_folder(shared).string(), (shared / "glue").string(), expected_path.string()));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;

  const auto tokenizer = BertTokenizer::from_folder(bert_folder(shared));
  std::ifstream expected(expected_path);
  std::map<std::string, int> rows_per_file;
  int mismatches = 0;
  for (std::string line; std::getline(expected, line);) {
    const json row = json::parse(line);
    const auto source = row.at("source").get<std::string>();
    ++rows_per_file[source];
    for (const json& reference_encoding : row.at("encodings")) {
      const int max_length = reference_encoding.at("max_length").get<int>();
      const Encoding encoding =
          tokenizer.encode(row.at("text_a").get<std::string>(), text_b_of(row), max_length);
      if (encoding.input_ids == reference_encoding.at("input_ids").get<std::vector<int32_t>>() &&
          encoding.token_type_ids == reference_encoding.at("token_type_ids").get<std::vector<int8_t>>() &&
          tokenizer.decode(encoding.input_ids) == reference_encoding.at("decoded").get<std::string>()) {
        continue;
      }
      if (++mismatches <= 10) {
        ADD_FAILURE() << source << " row " << row.at("row") << " max_length " << max_length << ": "
                      << row.at("text_a") << " / " << row.at("text_b")
                      << "\n  decoded: " << json(tokenizer.decode(encoding.input_ids))
                      << "\n  reference: " << reference_encoding.at("decoded");
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (const char* task : {"CoLA", "MRPC", "RTE", "SST-2", "STS-B"}) {
    for (const char* split : {"train.tsv", "dev.tsv"}) {
      const std::string source = fmt::format("{}/{}", task, split);
      EXPECT_GT(rows_per_file[source], 100) << source << " is missing from the reference";
    }
  }
}

// Normalisation and pre-tokenisation of every code point that Unicode 15 (utf8proc) assigns, against
// the Rust tokenizer's BertNormalizer and BertPreTokenizer (Python `tokenizers`). Unassigned ones are left
// out: newer Rust lower-cases some of them.
void expect_every_code_point_matches_reference(const char* mode, TokenizerSettings settings) {
  DTRAIN_REQUIRE_PYTHON("tokenizers");
  testing::ScratchDir scratch("dtrain-unicode-reference");
  const fs::path expected_path = scratch / "unicode.tsv";
  const auto generated =
      testing::run_command(fmt::format("'{}' '{}' unicode '{}' {}", testing::python(),
                                       reference_script().string(), expected_path.string(), mode));
  ASSERT_EQ(generated.exit_code, 0) << generated.output;

  const BertNormalizer normalizer(settings);
  std::ifstream expected(expected_path);
  int compared = 0;
  int mismatches = 0;
  for (std::string line; std::getline(expected, line);) {
    const auto code = static_cast<char32_t>(std::stoul(line.substr(0, line.find('\t')), nullptr, 16));
    if (utf8proc_category(static_cast<utf8proc_int32_t>(code)) == UTF8PROC_CATEGORY_CN) continue;
    std::string text;
    append_utf8(text, code);
    std::string normalized;
    normalizer.normalize(text, 0, normalized);
    std::string ours = fmt::format("{:x}\t", static_cast<uint32_t>(code));
    for (std::size_t pos = 0; pos < normalized.size();) {
      char32_t piece;
      pos += decode_utf8(normalized, pos, 0, piece);
      ours += fmt::format("{}{:x}", ours.back() == '\t' ? "" : " ", static_cast<uint32_t>(piece));
    }
    const BertCharKind kind = classify_bert_char(code);
    ours += kind == BertCharKind::kWord ? "\t1" : kind == BertCharKind::kWhitespace ? "\t2" : "\t3";
    ++compared;
    if (ours != line && ++mismatches <= 10) ADD_FAILURE() << "reference: " << line << "\nours:      " << ours;
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(compared, 140000);  // assigned code points in Unicode 15, surrogates excluded
}

TEST(BertTokenizerUnicode, EveryCodePointMatchesHuggingFaceTokenizers) {
  expect_every_code_point_matches_reference("", TokenizerSettings{});
}

TEST(BertTokenizerUnicode, EveryCodePointMatchesHuggingFaceTokenizersWithoutAccentStripping) {
  TokenizerSettings settings;
  settings.strip_accents = false;
  expect_every_code_point_matches_reference("keep-accents", settings);
}

}  // namespace
}  // namespace dtrain::data
