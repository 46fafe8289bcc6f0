#include "data/dataset/synthetic_task.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "data/loading/deterministic_random.h"

namespace dtrain::data {
namespace {

constexpr int kWords = 500;
constexpr int kMinSentenceWords = 4, kMaxSentenceWords = 10;
// Words [0, kMarked) are "marked", the rest neutral.
constexpr int kMarked = 25;
constexpr int kMaxMarkedPerSentence = 3;

int below(SplitMix64& random, int bound) {
  return static_cast<int>(random.below(static_cast<uint64_t>(bound)));
}

// Pronounceable two-syllable lower-case words, distinct for every index below 70 * 70.
std::vector<std::string> make_words() {
  static constexpr std::string_view kConsonants = "bdfgklmnprstvz", kVowels = "aeiou";
  std::vector<std::string> syllables;
  for (char consonant : kConsonants) {
    for (char vowel : kVowels) syllables.push_back({consonant, vowel});
  }
  std::vector<std::string> words;
  for (int i = 0; i < kWords; ++i) {
    words.push_back(syllables[i % syllables.size()] + syllables[i / syllables.size()]);
  }
  return words;
}

// A sentence of neutral words with exactly `marked` marked words at distinct random places.
std::vector<int> random_sentence(SplitMix64& random, int marked) {
  std::vector<int> sentence(kMinSentenceWords + below(random, kMaxSentenceWords - kMinSentenceWords + 1));
  for (int& word : sentence) word = kMarked + below(random, kWords - kMarked);
  for (int placed = 0; placed < marked;) {
    int& word = sentence[below(random, static_cast<int>(sentence.size()))];
    if (word < kMarked) continue;
    word = below(random, kMarked);
    ++placed;
  }
  return sentence;
}

std::string join_words(const std::vector<int>& sentence, const std::vector<std::string>& words) {
  std::string text;
  for (int word : sentence) {
    if (!text.empty()) text += ' ';
    text += words[word];
  }
  return text;
}

void write_split(const std::filesystem::path& path, int64_t rows, SplitMix64& random,
                 const std::vector<std::string>& words) {
  std::ofstream out(path, std::ios::binary);
  DTRAIN_CHECK(out.is_open(), "{}: cannot create the file", path.string());
  out << "sentence1\tsentence2\tlabel\n";
  for (int64_t row = 0; row < rows; ++row) {
    // Label 1 when the first sentence holds more marked words than the second: learning it needs
    // the segments told apart (token types) and compared, not just a bag of words over the pair.
    const int first_marked = below(random, kMaxMarkedPerSentence + 1);
    int second_marked = below(random, kMaxMarkedPerSentence);
    if (second_marked >= first_marked) ++second_marked;  // never equal: every pair has an answer
    const std::vector<int> first = random_sentence(random, first_marked);
    const std::vector<int> second = random_sentence(random, second_marked);
    out << join_words(first, words) << '\t' << join_words(second, words) << '\t'
        << (first_marked > second_marked ? 1 : 0) << '\n';
  }
  DTRAIN_CHECK(out.good(), "{}: write failed", path.string());
}

}  // namespace

SyntheticTaskFiles write_synthetic_task(const std::filesystem::path& folder, int64_t train_rows,
                                        int64_t dev_rows, uint64_t seed) {
  DTRAIN_CHECK(train_rows > 0 && dev_rows > 0, "the synthetic task needs at least one train and one dev row");
  SyntheticTaskFiles files{folder / "tokenizer", folder / "train.tsv", folder / "dev.tsv"};
  std::error_code error;
  std::filesystem::create_directories(files.tokenizer_folder, error);
  DTRAIN_CHECK(!error, "{}: cannot create the folder: {}", files.tokenizer_folder.string(), error.message());

  const std::vector<std::string> words = make_words();
  std::ofstream vocab(files.tokenizer_folder / "vocab.txt", std::ios::binary);
  for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab << special << '\n';
  for (const std::string& word : words) vocab << word << '\n';
  DTRAIN_CHECK(vocab.good(), "{}: write failed", (files.tokenizer_folder / "vocab.txt").string());

  SplitMix64 random(seed);
  write_split(files.train, train_rows, random, words);
  write_split(files.dev, dev_rows, random, words);
  return files;
}

}  // namespace dtrain::data
