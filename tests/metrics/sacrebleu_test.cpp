// BLEU and chrF against the sacrebleu package itself: sacrebleu's own test vectors, the categories its
// tests cover (empty hypotheses, no matches, Unicode punctuation, several references, lower-casing,
// effective order, chrF edge cases), whole Multi30k files with perturbations, and the command line.
// tests/metrics/sacrebleu_reference.py computes every case with sacrebleu in the same run.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "metrics/bleu.h"
#include "metrics/chrf.h"
#include "metrics/python_text.h"
#include "metrics/segments_file.h"
#include "metrics/tokenizer_13a.h"
#include "metrics/translation_metrics.h"
#include "support/test_support.h"

namespace dtrain::metrics {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;
using json = nlohmann::json;
using Streams = std::vector<std::vector<std::string>>;

// sacrebleu agrees to the last bit in practice; the bound is the one dtrain promises.
constexpr double kTolerance = 1e-9;

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Runs the reference over `cases` and returns its results, one per case.
json sacrebleu_results(const json& cases) {
  ScratchDir dir("dtrain-sacrebleu");
  std::ofstream(dir / "cases.json") << cases.dump();
  const std::string script =
      (dtrain::testing::source_dir() / "tests/metrics/sacrebleu_reference.py").string();
  const auto run = run_command("'" + dtrain::testing::python() + "' " + script + " " +
                               (dir / "cases.json").string() + " " + (dir / "results.json").string());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  if (run.exit_code != 0) return json::array();
  return json::parse(read_file(dir / "results.json"));
}

BleuOptions bleu_options(const json& options) {
  BleuOptions bleu;
  bleu.lowercase = options.value("lowercase", false);
  bleu.tokenize = options.value("tokenize", "13a");
  const std::string method = options.value("smooth_method", "exp");
  bleu.smooth_method = method == "none"    ? BleuSmoothing::kNone
                       : method == "floor" ? BleuSmoothing::kFloor
                       : method == "add-k" ? BleuSmoothing::kAddK
                                           : BleuSmoothing::kExp;
  if (options.contains("smooth_value") && !options["smooth_value"].is_null())
    bleu.smooth_value = options["smooth_value"].get<double>();
  bleu.max_ngram_order = options.value("max_ngram_order", 4);
  bleu.effective_order = options.value("effective_order", false);
  return bleu;
}

ChrfOptions chrf_options(const json& options) {
  ChrfOptions chrf;
  chrf.char_order = options.value("char_order", 6);
  chrf.word_order = options.value("word_order", 0);
  chrf.beta = options.value("beta", 2);
  chrf.lowercase = options.value("lowercase", false);
  chrf.whitespace = options.value("whitespace", false);
  chrf.eps_smoothing = options.value("eps_smoothing", false);
  return chrf;
}

json text_case(const std::string& kind, const std::vector<std::string>& hypotheses, const Streams& references,
               const json& options = json::object()) {
  return {{"kind", kind}, {"hypotheses", hypotheses}, {"references", references}, {"options", options}};
}

// Scores every case with dtrain and compares it with sacrebleu's result for it.
void expect_same_scores(const json& cases) {
  const json expected = sacrebleu_results(cases);
  ASSERT_EQ(expected.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const json& want = expected[i];
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.dump().substr(0, 300));
    std::vector<std::string> hypotheses;
    Streams references;
    if (c.contains("hypotheses")) {
      hypotheses = c["hypotheses"].get<std::vector<std::string>>();
      references = c["references"].get<Streams>();
    } else {
      hypotheses = read_segments(c["hypothesis_file"].get<std::string>());
      for (const auto& path : c["reference_files"])
        references.push_back(read_segments(path.get<std::string>()));
    }
    const json& options = c["options"];
    if (c["kind"] == "bleu") {
      const BleuOptions bleu = bleu_options(options);
      const BleuScore got = corpus_bleu(hypotheses, references, bleu);
      EXPECT_NEAR(got.score, want["score"].get<double>(), kTolerance);
      EXPECT_EQ(got.counts, want["counts"].get<std::vector<double>>());
      EXPECT_EQ(got.totals, want["totals"].get<std::vector<double>>());
      const auto precisions = want["precisions"].get<std::vector<double>>();
      ASSERT_EQ(got.precisions.size(), precisions.size());
      for (size_t n = 0; n < precisions.size(); ++n)
        EXPECT_NEAR(got.precisions[n], precisions[n], kTolerance);
      EXPECT_NEAR(got.bp, want["bp"].get<double>(), kTolerance);
      EXPECT_EQ(got.sys_len, want["sys_len"].get<int64_t>());
      EXPECT_EQ(got.ref_len, want["ref_len"].get<int64_t>());
      const std::string signature = bleu_signature(bleu, references.size());
      EXPECT_EQ(signature, want["signature"]);
      EXPECT_EQ(got.format(2, signature), want["line"]);
    } else {
      const ChrfOptions chrf = chrf_options(options);
      const ChrfScore got = corpus_chrf(hypotheses, references, chrf);
      EXPECT_NEAR(got.score, want["score"].get<double>(), kTolerance);
      EXPECT_EQ(got.name(), want["name"]);
      const std::string signature = chrf_signature(chrf, references.size());
      EXPECT_EQ(signature, want["signature"]);
      EXPECT_EQ(got.format(2, signature), want["line"]);
    }
  }
}

// sacrebleu's README example, used throughout its tests.
const std::vector<std::string> kHypotheses = {"The dog bit the man.", "It wasn't surprising.",
                                              "The man had just bitten him."};
const Streams kReferences = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
};

// Text that exercises the 13a tokenizer and Python's whitespace and case rules.
const std::vector<std::string> kUnicodeLines = {
    "&quot;Hello&quot; &amp; goodbye &lt;b&gt; &amp;lt; <skipped> done",
    "It costs 1,000.50 dollars, or 3-4 euros; e.g., 10.5% (approx.) on 2024-01-02.",
    "«Bonjour», dit-il — l’homme… “quoted” ‘single’ ¿Qué? ¡Sí!",
    "Un\u00a0espace\u2009fine\u3000idéographique\ttab\x1c sep\u2028ligne \u0085 fin   ",
    "hyphen-\nated and line\nbreak inside",
    "ΟΔΟΣ ΣΑΣ Σ İSTANBUL ǅemal ﬁnal ẞ straße Ⅻ ⓐⒷ",
    "emoji 👍🏽 and CJK 你好，世界。 ok",
    "a.b,c .5 5. ,x x, 1.2.3 9,9 -7 7- a/b {c} [d] ~e~ `f` @g #h $i ^j |k| \\l",
    "",
    "   ",
};

TEST(SacreBleu, TokenizerMatches13a) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu numpy");
  const json expected =
      sacrebleu_results(json::array({{{"kind", "tokenize_13a"}, {"lines", kUnicodeLines}}}));
  ASSERT_EQ(expected.size(), 1u);
  for (size_t i = 0; i < kUnicodeLines.size(); ++i) {
    EXPECT_EQ(tokenize_13a(kUnicodeLines[i]), expected[0]["tokens"][i].get<std::string>())
        << kUnicodeLines[i];
  }
}

TEST(SacreBleu, BleuTestVectors) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu numpy");
  json cases = json::array();
  const auto bleu = [&cases](const std::vector<std::string>& hyps, const Streams& refs,
                             json options = json::object()) {
    cases.push_back(text_case("bleu", hyps, refs, std::move(options)));
  };
  // sacrebleu's test_bleu.py: corpus cases (empty hypotheses are kept), tokenizers, smoothing.
  bleu(kHypotheses, kReferences);
  bleu({"", "", ""}, kReferences);
  bleu(kHypotheses, kReferences, {{"tokenize", "none"}});
  bleu(kHypotheses, kReferences, {{"smooth_method", "none"}});
  // raw_corpus_bleu (floor smoothing, no tokenizer, effective order) cases and offsets.
  const json raw = {
      {"smooth_method", "floor"}, {"smooth_value", 0.01}, {"tokenize", "none"}, {"effective_order", true}};
  bleu({"this is a test", "another test"}, {{"ref1", "ref2"}}, raw);
  bleu({"this is a test"}, {{"this is a test"}}, raw);
  bleu({"this is a fest"}, {{"this is a test"}}, raw);
  bleu({"test"}, {{"a test"}}, raw);
  bleu({"a little test"}, {{"a test"}}, raw);
  for (const json& offset : {json(0.0), json(nullptr)}) {
    bleu({"am I am a character sequence"}, {{"I am a symbol string sequence a a"}},
         {{"smooth_method", "floor"},
          {"smooth_value", offset},
          {"tokenize", "none"},
          {"effective_order", true}});
  }
  // test_sentence_bleu.py: every smoothing on a Romanian pair (#98), and zero matches (#141).
  const std::string ref = "producţia de zahăr brut se exprimă în zahăr alb;";
  const std::string sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
  for (const auto& [method, value] : std::vector<std::pair<std::string, json>>{{"exp", nullptr},
                                                                               {"none", nullptr},
                                                                               {"floor", nullptr},
                                                                               {"floor", 0.5},
                                                                               {"add-k", nullptr},
                                                                               {"add-k", 2}}) {
    for (const std::string tokenize : {"13a", "none"}) {
      json options = {{"smooth_method", method}, {"tokenize", tokenize}, {"effective_order", true}};
      if (!value.is_null()) options["smooth_value"] = value;
      bleu({sys}, {{ref}}, options);
      bleu({"this is a cat"}, {{"okay thanks"}}, options);
    }
  }
  // Unicode punctuation and whitespace, lower-casing, against the same lines shuffled.
  std::vector<std::string> shuffled = kUnicodeLines;
  std::rotate(shuffled.begin(), shuffled.begin() + 3, shuffled.end());
  bleu(kUnicodeLines, {kUnicodeLines});
  bleu(shuffled, {kUnicodeLines});
  bleu(shuffled, {kUnicodeLines}, {{"lowercase", true}});
  bleu(kUnicodeLines, {shuffled, kUnicodeLines}, {{"lowercase", true}, {"effective_order", true}});
  bleu({"The DOG bit the Man.", "ΟΔΟΣ ΣΑΣ", "İstanbul"}, {{"the dog bit the man.", "οδος σας", "i̇stanbul"}},
       {{"lowercase", true}});
  // Several references, closest lengths and ties, empty references, empty hypotheses.
  bleu(kHypotheses,
       {kReferences[0], kReferences[1], {"The dog", "", "The man had just bitten him first today."}});
  bleu({"a b c d", "a b", "x"}, {{"a b c", "a b c", ""}, {"a b c d e", "a", ""}});
  bleu({"", "a"}, {{"", ""}});
  bleu({"one two three four five"}, {{""}});
  bleu({"short"}, {{"a much longer reference sentence here"}});
  bleu({"the the the the the the the"}, {{"the cat is on the mat"}, {"there is a cat on the mat"}});
  // Effective order and other orders.
  bleu({"a", "b c"}, {{"a", "b c"}}, {{"effective_order", true}});
  bleu({"a", "b c"}, {{"a", "b c"}});
  bleu(kHypotheses, kReferences, {{"max_ngram_order", 2}});
  bleu(kHypotheses, kReferences, {{"max_ngram_order", 6}, {"effective_order", true}});
  expect_same_scores(cases);
}

TEST(SacreBleu, ChrfTestVectors) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu numpy");
  json cases = json::array();
  const auto chrf = [&cases](const std::vector<std::string>& hyps, const Streams& refs,
                             json options = json::object()) {
    cases.push_back(text_case("chrf", hyps, refs, std::move(options)));
  };
  // sacrebleu's test_chrf.py, with epsilon smoothing and with effective order (beta 3).
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"abcdefg", "hijklmnop"},
      {"a", "b"},
      {"", "b"},
      {"", "ref"},
      {"", "reference"},
      {"aa", "ab"},
      {"a", "a"},
      {"a b c", "a b c"},
      {"a b c", "abc"},
      {"", "c"},
      {" risk assessment must be made of those who are qualified and expertise in the sector - these are the "
       "scientists .",
       "risk assessment has to be undertaken by those who are qualified and expert in that area - that is "
       "the "
       "scientists ."},
      {" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ",
       "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
      {"Niemand hat die Absicht, eine Mauer zu errichten",
       "Niemand hat die Absicht, eine Mauer zu errichten"},
  };
  for (const bool eps : {true, false}) {
    for (const auto& [hyp, ref] : pairs) chrf({hyp}, {{ref}}, {{"beta", 3}, {"eps_smoothing", eps}});
    chrf({"a", "b"}, {{"a", "c"}}, {{"beta", 3}, {"eps_smoothing", eps}});
  }
  for (const auto& [hyp, ref] : pairs) chrf({hyp}, {{ref}}, {{"beta", 3}, {"whitespace", true}});
  // Sentence-level Czech examples (default beta 2, epsilon smoothing).
  chrf({"Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře."},
       {{"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."}},
       {{"eps_smoothing", true}});
  chrf({"Lapali po dechu, jejich životy skončily dřív, než skutečně začaly."},
       {{"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."}});
  // Defaults, chrF++, lower-casing, whitespace, several references, Unicode.
  std::vector<std::string> shuffled = kUnicodeLines;
  std::rotate(shuffled.begin(), shuffled.begin() + 2, shuffled.end());
  for (const json& options : {json::object(), json{{"word_order", 2}}, json{{"lowercase", true}},
                              json{{"whitespace", true}}, json{{"word_order", 2}, {"lowercase", true}},
                              json{{"word_order", 1}, {"char_order", 0}}, json{{"eps_smoothing", true}}}) {
    chrf(kHypotheses, kReferences, options);
    chrf(kUnicodeLines, {kUnicodeLines}, options);
    chrf(shuffled, {kUnicodeLines, shuffled}, options);
    chrf({"(hi) there,", ",", "x.", ".y", "é,", "''"}, {{"hi there", ",", "x", "y", "é", "'"}}, options);
    chrf({"", ""}, {{"", "b"}}, options);
  }
  expect_same_scores(cases);
}

// Whole files: Multi30k's French validation and test translations scored against each other, and the
// test file against perturbed copies of itself (words shuffled, lines dropped, case changed).
TEST(SacreBleu, Multi30kFiles) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu numpy");
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  const fs::path multi30k = shared / "multi30k";
  ScratchDir dir("dtrain-bleu-files");
  const std::vector<std::string> test = read_segments(multi30k / "test_2016_flickr.fr");
  const std::vector<std::string> val = read_segments(multi30k / "val.fr");
  ASSERT_EQ(test.size(), 1000u);
  const auto write_lines = [&dir](const std::string& name, const std::vector<std::string>& lines) {
    std::ofstream file(dir / name, std::ios::binary);
    for (const auto& line : lines) file << line << "\n";
    return (dir / name).string();
  };
  std::mt19937 random(7);
  std::vector<std::string> shuffled_words, dropped, recased;
  for (size_t i = 0; i < test.size(); ++i) {
    std::vector<std::string_view> words = python_split(test[i]);
    std::shuffle(words.begin(), words.end(), random);
    std::string line;
    for (const auto word : words) line += (line.empty() ? "" : " ") + std::string(word);
    shuffled_words.push_back(line);
    dropped.push_back(i % 7 == 3 ? "" : test[i]);
    recased.push_back(i % 2 ? python_lower(test[i]) : test[i]);
  }
  const std::string test_file = (multi30k / "test_2016_flickr.fr").string();
  const std::string val_file = write_lines("val-1000.fr", {val.begin(), val.begin() + 1000});
  const std::string en_file = (multi30k / "test_2016_flickr.en").string();
  const std::string shuffled_file = write_lines("shuffled.fr", shuffled_words);
  const std::string dropped_file = write_lines("dropped.fr", dropped);
  const std::string recased_file = write_lines("recased.fr", recased);

  json cases = json::array();
  const auto add = [&cases](const std::string& kind, const std::string& hyp,
                            const std::vector<std::string>& refs, json options = json::object()) {
    cases.push_back(
        {{"kind", kind}, {"hypothesis_file", hyp}, {"reference_files", refs}, {"options", options}});
  };
  for (const std::string kind : {"bleu", "chrf"}) {
    add(kind, val_file, {test_file});
    add(kind, test_file, {val_file});
    add(kind, test_file, {test_file});
    add(kind, shuffled_file, {test_file});
    add(kind, dropped_file, {test_file});
    add(kind, recased_file, {test_file});
    add(kind, en_file, {test_file});
    add(kind, shuffled_file, {test_file, val_file, dropped_file});
    add(kind, recased_file, {test_file}, {{"lowercase", true}});
  }
  add("chrf", shuffled_file, {test_file}, {{"word_order", 2}});
  add("bleu", val_file, {test_file}, {{"tokenize", "none"}});
  expect_same_scores(cases);
}

// `dtrain bleu` prints what `sacrebleu REF... -i HYP` prints, in text and in JSON.
TEST(SacreBleu, CommandLineMatchesSacrebleu) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu numpy");
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  ScratchDir dir("dtrain-bleu-cli");
  const std::string test = (shared / "multi30k/test_2016_flickr.fr").string();
  {
    const std::vector<std::string> val = read_segments(shared / "multi30k/val.fr");
    std::ofstream file(dir / "val.fr", std::ios::binary);
    for (size_t i = 0; i < 1000; ++i) file << val[i] << "\n";
  }
  const std::string hyp = (dir / "val.fr").string();
  const std::string dtrain = dtrain::testing::dtrain_binary().string();
  const std::string sacrebleu = "NO_COLOR=1 '" + dtrain::testing::python() + "' -m sacrebleu";
  struct Variant {
    std::string dtrain_args, sacrebleu_args;
  };
  const std::vector<Variant> variants = {
      {"--ref " + test, test + " -f text"},
      {"--ref " + test + " --format json", test},
      {"--ref " + test + " --ref " + hyp + " --metrics bleu,chrf --width 2",
       test + " " + hyp + " -m bleu chrf -w 2 -f text"},
      {"--ref " + test + " --metrics chrf,bleu --format json --lowercase --chrf-word-order 2",
       test + " -m bleu chrf -lc --chrf-word-order 2"},
      {"--ref " + test + " --smooth-method floor --smooth-value 0.2 --tokenize none",
       test + " -s floor -sv 0.2 -tok none -f text"},
  };
  for (const auto& variant : variants) {
    const auto ours = run_command(dtrain + " bleu --hyp " + hyp + " " + variant.dtrain_args + " > " +
                                  (dir / "ours.txt").string());
    ASSERT_EQ(ours.exit_code, 0) << ours.output;
    const auto theirs = run_command(sacrebleu + " " + variant.sacrebleu_args + " -i " + hyp + " > " +
                                    (dir / "theirs.txt").string());
    ASSERT_EQ(theirs.exit_code, 0) << theirs.output;
    EXPECT_EQ(read_file(dir / "ours.txt"), read_file(dir / "theirs.txt")) << variant.dtrain_args;
  }
}

TEST(SacreBleu, CommandLineErrors) {
  ScratchDir dir("dtrain-bleu-errors");
  dtrain::testing::write_file(dir / "two.txt", "a\nb\n");
  dtrain::testing::write_file(dir / "three.txt", "a\nb\nc");
  dtrain::testing::write_file(dir / "bad.txt", "ok\nnot \xff utf-8\n");
  const std::string dtrain = dtrain::testing::dtrain_binary().string() + " bleu";
  auto run =
      run_command(dtrain + " --hyp " + (dir / "two.txt").string() + " --ref " + (dir / "three.txt").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("two.txt has 2 lines but " + (dir / "three.txt").string() + " has 3"),
            std::string::npos)
      << run.output;
  run = run_command(dtrain + " --hyp " + (dir / "bad.txt").string() + " --ref " + (dir / "two.txt").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("bad.txt:2: invalid UTF-8 at byte 4"), std::string::npos) << run.output;
  run = run_command(dtrain + " --hyp " + (dir / "missing.txt").string() + " --ref " +
                    (dir / "two.txt").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("missing.txt: cannot open"), std::string::npos) << run.output;
}

// Python's str.lower() and str.isspace() on every code point Python's Unicode database (14.0) assigns,
// with the Final_Sigma contexts that decide between σ and ς.
TEST(PythonText, EveryCodePointLikePython) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu");
  ScratchDir dir("dtrain-python-text");
  const std::string script =
      (dtrain::testing::source_dir() / "tests/metrics/python_text_reference.py").string();
  const auto run =
      run_command("'" + dtrain::testing::python() + "' " + script + " " + (dir / "chars.txt").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::ifstream reference(dir / "chars.txt");
  int checked = 0, mismatches = 0;
  for (std::string line; std::getline(reference, line) && mismatches < 20; ++checked) {
    std::istringstream fields(line);
    std::string code_hex, lowered_hex, space, flag_a, flag_b, flag_c;
    fields >> code_hex >> lowered_hex >> space >> flag_a >> flag_b >> flag_c;
    const auto code = static_cast<char32_t>(std::stoul(code_hex, nullptr, 16));
    std::u32string expected_lower;
    for (size_t start = 0; start < lowered_hex.size();) {
      size_t end = lowered_hex.find(',', start);
      if (end == std::string::npos) end = lowered_hex.size();
      expected_lower.push_back(
          static_cast<char32_t>(std::stoul(lowered_hex.substr(start, end - start), nullptr, 16)));
      start = end + 1;
    }
    const std::string c = encode_utf8(std::u32string(1, code));
    const auto final_sigma = [](const std::string& lowered, bool sigma_second) {
      const std::u32string codes = decode_utf8(lowered);
      return (sigma_second ? codes[1] : codes.back()) == U'\u03c2' ? "1" : "0";
    };
    const std::string got_flags = std::string(final_sigma(python_lower("A" + c + "Σ"), false)) + " " +
                                  final_sigma(python_lower(c + "Σ"), false) + " " +
                                  final_sigma(python_lower("AΣ" + c), true);
    const bool same = decode_utf8(python_lower(c)) == expected_lower &&
                      is_python_space(code) == (space == "1") &&
                      got_flags == flag_a + " " + flag_b + " " + flag_c;
    if (!same) {
      ++mismatches;
      ADD_FAILURE() << "U+" << code_hex << ": python " << line << ", dtrain lower "
                    << encode_utf8(decode_utf8(python_lower(c))) << " space " << is_python_space(code)
                    << " sigma " << got_flags;
    }
  }
  EXPECT_GT(checked, 140000);
}

// The course's compute_metrics: {"bleu", "gen_len"} rounded to 4 places, from sacrebleu and numpy.
TEST(TranslationMetrics, LikeRunTranslation) {
  DTRAIN_REQUIRE_PYTHON("sacrebleu numpy");
  const std::vector<std::vector<int64_t>> ids = {
      {0, 5, 6, 7, 2, 0, 0}, {0, 8, 2, 0, 0, 0, 0}, {0, 9, 9, 9, 9, 9, 2}, {0, 4, 2, -100, -100, -100, -100}};
  const std::vector<std::vector<int64_t>> ragged = {{5, 2}, {7, 7, 7, 2}, {2}};
  // A mean of 1/160 = 0.00625, where numpy's rounding (0.0062) and Python's (0.0063) part ways.
  std::vector<std::vector<int64_t>> one_token(160, std::vector<int64_t>{1, 1});
  one_token[0] = {1, 42};
  std::vector<std::string> one_word(160, ""), other_words(160, "b");
  one_word[0] = other_words[0] = "a";
  json cases = json::array();
  cases.push_back(
      {{"kind", "translation"},
       {"predictions", {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him.", ""}},
       {"references", {"The dog bit the man.", "It was not unexpected.", "The man bit him first.", "x"}},
       {"prediction_ids", ids},
       {"pad_id", 0}});
  cases.push_back({{"kind", "translation"},
                   {"predictions", {"a b c", "d", "e f"}},
                   {"references", {"a b c", "d e", "e f g"}},
                   {"prediction_ids", ragged},
                   {"pad_id", 58100}});
  cases.push_back({{"kind", "translation"},
                   {"predictions", one_word},
                   {"references", other_words},
                   {"prediction_ids", one_token},
                   {"pad_id", 1}});
  const json expected = sacrebleu_results(cases);
  ASSERT_EQ(expected.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const json got = translation_metrics(cases[i]["predictions"], cases[i]["references"],
                                         cases[i]["prediction_ids"], cases[i]["pad_id"]);
    EXPECT_EQ(got["bleu"].get<double>(), expected[i]["bleu"].get<double>()) << i;
    EXPECT_EQ(got["gen_len"].get<double>(), expected[i]["gen_len"].get<double>()) << i;
  }
}

}  // namespace
}  // namespace dtrain::metrics
