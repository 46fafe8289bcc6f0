#include "data/synthetic_task.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace dtrain::data {
namespace {

constexpr int kWords = 500;
constexpr int kMinSentenceWords = 4, kMaxSentenceWords = 10;

// splitmix64: tiny, and unlike <random>'s distributions it gives the same stream on every platform.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int below(int bound) { return static_cast<int>(next() % static_cast<uint64_t>(bound)); }

 private:
  uint64_t state_;
};

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

std::vector<int> random_sentence(Random& random, const std::vector<bool>& forbidden) {
  std::vector<int> sentence(kMinSentenceWords + random.below(kMaxSentenceWords - kMinSentenceWords + 1));
  for (int& word : sentence) {
    do {
      word = random.below(kWords);
    } while (forbidden[word]);
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

void write_split(const std::filesystem::path& path, int64_t rows, Random& random,
                 const std::vector<std::string>& words) {
  std::ofstream out(path, std::ios::binary);
  DTRAIN_CHECK(out.is_open(), "{}: cannot create the file", path.string());
  out << "sentence1\tsentence2\tlabel\n";
  for (int64_t row = 0; row < rows; ++row) {
    const std::vector<int> first = random_sentence(random, std::vector<bool>(kWords, false));
    std::vector<bool> in_first(kWords, false);
    for (int word : first) in_first[word] = true;
    const bool shares_word = random.below(2) == 1;
    // Negatives avoid every word of the first sentence; positives then repeat exactly one of them.
    std::vector<int> second = random_sentence(random, in_first);
    if (shares_word)
      second[random.below(static_cast<int>(second.size()))] =
          first[random.below(static_cast<int>(first.size()))];
    out << join_words(first, words) << '\t' << join_words(second, words) << '\t' << (shares_word ? 1 : 0)
        << '\n';
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

  Random random(seed);
  write_split(files.train, train_rows, random, words);
  write_split(files.dev, dev_rows, random, words);
  return files;
}

}  // namespace dtrain::data
