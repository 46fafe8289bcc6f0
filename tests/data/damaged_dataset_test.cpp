// Damaged dataset files: a few hundred copies of a prepared dev set, each with bytes flipped, zeroed,
// overwritten or cut off, read the way `dtrain inspect` reads them. The only outcomes allowed are
// a dtrain::Error with a one-line message, or success with data identical to the undamaged file's;
// a crash, a hang, another exception or different data fails the test. Each copy is read in a child
// process, so a crash or hang costs one case, not the test binary.
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <fstream>
#include <map>
#include <numeric>
#include <random>

#include "common/sha256.h"
#include "data/dataset/dataset_reader.h"
#include "data/dataset/dataset_validation.h"
#include "data/dataset/file_checksum.h"
#include "data/dataset/isolated_check.h"
#include "data/dataset/prepare.h"
#include "data/dataset/synthetic_task.h"
#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

using dtrain::testing::CommandResult;
using dtrain::testing::python;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;

// Everything reading the file establishes, as text: metadata, every sample, the validation report.
std::string inspected_content(const std::filesystem::path& path) {
  const DatasetReader reader(path, Verification::everything);
  const ValidationReport report = validate_dataset(reader);
  const DatasetInfo& info = reader.info();
  std::string text = fmt::format(
      "{} {} {} [{}] {} {}/{}/{}/{} {} {} {} {} {} {} {} {}\n", info.format_version, task_name(info.task),
      info.num_labels, fmt::join(info.label_names, ","), info.vocab_size, info.pad_id, info.cls_id,
      info.sep_id, info.eos_id, info.max_length, info.vocab_sha256, info.source_file, info.source_sha256,
      info.tokenizer_settings_json, info.num_samples, info.total_tokens, report.pairs);
  std::vector<int64_t> all(static_cast<size_t>(reader.num_samples()));
  std::iota(all.begin(), all.end(), 0);
  const SampleBlock block = reader.read(all);
  text += fmt::format("{}\n{}\n{}\n{}\n{}\n", fmt::join(block.starts, ","), fmt::join(block.input_ids, ","),
                      fmt::join(block.token_type_ids, ","), fmt::join(block.class_labels, ","),
                      fmt::join(block.regression_labels, ","));
  return text;
}

enum class Verdict { clean_error, identical, different_data, crashed, hung, bad_error };

const char* verdict_name(Verdict verdict) {
  constexpr const char* kNames[] = {"clean error", "identical", "DIFFERENT DATA",
                                    "CRASHED",     "HUNG",      "BAD ERROR"};
  return kNames[static_cast<int>(verdict)];
}

constexpr const char* kDifferentData = "different data";
constexpr const char* kNotDtrainError = "not a dtrain::Error: ";

// Reads `path` in a child process (the same isolation the reader itself uses for format-1 files).
Verdict inspect_in_child(const std::filesystem::path& path, const std::string& expected,
                         std::string& message) {
  const IsolatedOutcome outcome = run_isolated(
      [&] {
        std::string content;
        try {
          content = inspected_content(path);
        } catch (const Error&) {
          throw;
        } catch (const std::exception& error) {
          throw std::runtime_error(kNotDtrainError + std::string(error.what()));
        }
        if (content != expected) throw std::runtime_error(kDifferentData);
      },
      std::chrono::seconds(60));
  message = outcome.error;
  switch (outcome.kind) {
    case IsolatedOutcome::Kind::completed:
      return Verdict::identical;
    case IsolatedOutcome::Kind::crashed:
      return Verdict::crashed;
    case IsolatedOutcome::Kind::timed_out:
      return Verdict::hung;
    case IsolatedOutcome::Kind::failed:
      break;
  }
  if (message == kDifferentData) return Verdict::different_data;
  const bool one_line = message.find('\n') == std::string::npos && !message.empty();
  return one_line && message.rfind(kNotDtrainError, 0) != 0 ? Verdict::clean_error : Verdict::bad_error;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Damage as storage and copies do it: bits flipped, a run zeroed, bytes overwritten, the end cut off.
std::string damage(std::string bytes, std::mt19937_64& random, size_t protect_prefix) {
  const auto position = [&] { return protect_prefix + random() % (bytes.size() - protect_prefix); };
  switch (random() % 4) {
    case 0:
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
        const size_t at = position();
        bytes[at] = static_cast<char>(bytes[at] ^ (1 << (random() % 8)));
      }
      break;
    case 1: {
      const size_t at = position();
      std::fill_n(bytes.begin() + at, std::min<size_t>(1 + random() % 64, bytes.size() - at), '\0');
      break;
    }
    case 2:
      for (int bytes_left = 1 + static_cast<int>(random() % 16); bytes_left > 0; --bytes_left)
        bytes[position()] = static_cast<char>(random());
      break;
    default:
      bytes.resize(position());
  }
  return bytes;
}

// A message with its file name and numbers taken out, to group similar errors.
std::string message_kind(const std::string& message) {
  std::string kind;
  const size_t after_file = message.find(".h5");
  for (const char c : message.substr(after_file == std::string::npos ? 0 : after_file + 3)) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      kind += c;
    else if (kind.empty() || kind.back() != '#')
      kind += '#';
  }
  return kind.substr(0, std::min<size_t>(kind.find(" (sha"), 150));
}

struct Tally {
  std::map<std::string, int> counts, error_kinds;
  std::vector<std::string> failures;
  void add(Verdict verdict, const std::string& label, const std::string& message) {
    ++counts[verdict_name(verdict)];
    if (verdict == Verdict::clean_error) ++error_kinds[message_kind(message)];
    if (verdict != Verdict::clean_error && verdict != Verdict::identical)
      failures.push_back(label + ": " + verdict_name(verdict) + " " + message);
  }
  std::string summary() const {
    std::string text;
    for (const auto& [name, count] : counts) text += fmt::format("{} {}; ", name, count);
    return text;
  }
  std::string errors() const {
    std::string text;
    for (const auto& [kind, count] : error_kinds) text += fmt::format("  {:4} x {}\n", count, kind);
    return text;
  }
};

class DamagedDatasets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new ScratchDir("dtrain-damaged");
    const SyntheticTaskFiles files = write_synthetic_task(folder_->path() / "synthetic", 40, 300, 1);
    PrepareOptions options;
    options.input = files.dev;
    options.output = folder_->path() / "dev.h5";
    options.text_a = "sentence1";
    options.text_b = "sentence2";
    options.label = "label";
    options.max_length = 64;
    options.threads = 1;
    static_cast<void>(prepare_dataset(options, BertTokenizer::from_folder(files.tokenizer_folder)));
  }
  static void TearDownTestSuite() {
    delete folder_;
    folder_ = nullptr;
  }
  static std::filesystem::path dev() { return folder_->path() / "dev.h5"; }
  static ScratchDir* folder_;
};
ScratchDir* DamagedDatasets::folder_ = nullptr;

// Damaged copies as they arrive (the checksum header catches them before libhdf5 runs), and damaged
// copies whose header was recomputed after the damage, as if it happened before sealing: those reach
// libhdf5 and show that its own checksums (metadata, Fletcher-32 chunks) hold on their own, which is
// what `train` relies on for files above the whole-file checksum limit.
TEST_F(DamagedDatasets, Format2CopiesGiveCleanErrorsOrIdenticalData) {
  const std::string expected = inspected_content(dev());
  const std::string original = read_bytes(dev());
  std::mt19937_64 random(20240601);
  Tally sealed, resealed;
  constexpr int kCopies = 300;
  for (int copy = 0; copy < kCopies; ++copy) {
    const bool reseal = copy % 3 != 0;
    const auto path = folder_->path() / fmt::format("damaged-{}.h5", copy);
    std::string bytes = damage(original, random, reseal ? kChecksumHeaderBytes : 0);
    if (reseal && bytes.size() <= kChecksumHeaderBytes) bytes = original.substr(0, kChecksumHeaderBytes + 1);
    write_bytes(path, bytes);
    if (reseal) static_cast<void>(write_checksum_header(path));
    std::string message;
    const Verdict verdict = inspect_in_child(path, expected, message);
    (reseal ? resealed : sealed).add(verdict, fmt::format("copy {}", copy), message);
    if (verdict == Verdict::clean_error || verdict == Verdict::identical) std::filesystem::remove(path);
  }
  std::printf("as damaged: %s\n%sresealed after damage: %s\n%s", sealed.summary().c_str(),
              sealed.errors().c_str(), resealed.summary().c_str(), resealed.errors().c_str());
  EXPECT_TRUE(sealed.failures.empty()) << fmt::format("{}", fmt::join(sealed.failures, "\n"));
  EXPECT_TRUE(resealed.failures.empty()) << fmt::format("{}", fmt::join(resealed.failures, "\n"));
}

// Format 1 files have no checksums: damage that keeps them readable can change their data unseen,
// so "different data" is counted here, not failed; crashes and hangs must still become errors.
TEST_F(DamagedDatasets, Format1CopiesNeverCrashOrHang) {
  DTRAIN_REQUIRE_PYTHON("h5py numpy");
  const auto v1 = folder_->path() / "dev-v1.h5";
  const CommandResult converted =
      run_command(python() + " '" + (testing::source_dir() / "tests/reference/dataset_h5py.py").string() +
                  "' to-v1 '" + dev().string() + "' '" + v1.string() + "' 2>&1");
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  const std::string expected = inspected_content(v1);
  ASSERT_EQ(expected.substr(1), inspected_content(dev()).substr(1));  // the same data, format 1
  const std::string original = read_bytes(v1);
  std::mt19937_64 random(7);
  Tally tally;
  int different = 0;
  for (int copy = 0; copy < 60; ++copy) {
    const auto path = folder_->path() / fmt::format("damaged-v1-{}.h5", copy);
    write_bytes(path, damage(original, random, 0));
    std::string message;
    Verdict verdict = inspect_in_child(path, expected, message);
    if (verdict == Verdict::different_data) {
      ++different;
      verdict = Verdict::clean_error;
    }
    tally.add(verdict, fmt::format("format 1 copy {}", copy), message);
    std::filesystem::remove(path);
  }
  std::printf("format 1: %s(%d of them read without error but with different data)\n%s",
              tally.summary().c_str(), different, tally.errors().c_str());
  EXPECT_TRUE(tally.failures.empty()) << fmt::format("{}", fmt::join(tally.failures, "\n"));
}

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

void expect_one_line_error(const CommandResult& result, const std::string& expected) {
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(result.output.rfind("dtrain: error: ", 0), 0u) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_NE(result.output.find(expected), std::string::npos) << result.output;
}

// The two files of the original report: format 1 copies of the synthetic dev.h5 on which libhdf5
// crashed (H5HG_read, a variable-length string attribute) and hung.
TEST(DamagedDatasetFixtures, CrashAndHangBecomeOneLineErrorsOfInspect) {
  DTRAIN_REQUIRE_SHARED_DATA(data);
  const auto fixtures = data / "fixtures" / "damaged-h5";
  const auto inspect = [](const std::filesystem::path& file) {
    return run_command(quoted(testing::dtrain_binary()) + " inspect " + quoted(file));
  };
  expect_one_line_error(
      inspect(fixtures / "crash-vlen-attribute.h5"),
      "crash-vlen-attribute.h5: the file is damaged: libhdf5 crashed reading it (signal 11");
  expect_one_line_error(inspect(fixtures / "hang.h5"),
                        "hang.h5: the file is damaged: libhdf5 did not finish reading it");
}

TEST_F(DamagedDatasets, InspectReportsDamageInOneLine) {
  const std::string original = read_bytes(dev());
  const auto inspect = [](const std::filesystem::path& file) {
    return run_command(quoted(testing::dtrain_binary()) + " inspect " + quoted(file));
  };
  const auto copy = folder_->path() / "copy.h5";
  write_bytes(copy, original.substr(0, original.size() - 100));
  expect_one_line_error(inspect(copy), "the file has ");
  std::string flipped = original;
  flipped[original.size() / 2] = static_cast<char>(flipped[original.size() / 2] ^ 4);
  write_bytes(copy, flipped);
  expect_one_line_error(inspect(copy), "copy.h5: checksum mismatch");
  static_cast<void>(write_checksum_header(copy));  // the damage predates the checksum: libhdf5 meets it
  const CommandResult resealed = inspect(copy);
  if (resealed.exit_code != 0) expect_one_line_error(resealed, "copy.h5:");
}

TEST(IsolatedCheck, ReportsCompletionErrorsCrashesAndTimeouts) {
  EXPECT_EQ(run_isolated([] {}, std::chrono::seconds(20)).kind, IsolatedOutcome::Kind::completed);
  const IsolatedOutcome failed = run_isolated([] { DTRAIN_FAIL("f.h5: broken"); }, std::chrono::seconds(20));
  EXPECT_EQ(failed.kind, IsolatedOutcome::Kind::failed);
  EXPECT_EQ(failed.error, "f.h5: broken");
  const IsolatedOutcome crashed = run_isolated([] { std::raise(SIGSEGV); }, std::chrono::seconds(20));
  EXPECT_EQ(crashed.kind, IsolatedOutcome::Kind::crashed);
  EXPECT_NE(crashed.error.find("signal 11"), std::string::npos) << crashed.error;
  const auto start = std::chrono::steady_clock::now();
  const IsolatedOutcome hung = run_isolated(
      [] {
        for (;;) ::pause();
      },
      std::chrono::milliseconds(300));
  EXPECT_EQ(hung.kind, IsolatedOutcome::Kind::timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace dtrain::data
