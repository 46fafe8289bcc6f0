// What `dtrain train` writes, checked with the real transformers (tests/train/transformers_interop.py):
// the final model and every checkpoint load with AutoModelForSequenceClassification and AutoTokenizer
// without warnings, give `dtrain predict`'s logits on GLUE dev data, carry the label names given to
// `prepare`, and hold a trainer_state.json that TrainerState loads; files and folders get the
// permissions the umask allows, as transformers' would.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <string>

#include "support/test_support.h"

namespace dtrain::train {
namespace {

namespace fs = std::filesystem;
using dtrain::testing::run_command;
using dtrain::testing::ScratchDir;

// A tiny BERT over bert-base-uncased's vocabulary, trained for 6 steps with a checkpoint every 3. Its
// weights are drawn wider than BERT's 0.02 so that the logits are far from zero and a weight that
// loads wrongly in transformers shows in them.
const std::string kConfig = R"(
model:
  config: {vocab_size: 30522, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
           intermediate_size: 64, max_position_embeddings: 128, initializer_range: 0.2}
training:
  learning_rate: 1.0e-3
  max_steps: 6
  save_steps: 3
  logging_steps: 1
  per_device_train_batch_size: 8
  disable_tqdm: true
)";

dtrain::testing::CommandResult run_checked(const std::string& command) {
  auto result = run_command(command);
  EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
  return result;
}

// Every file under `root` (root included) must have mode 0666 & ~umask, every folder 0777 & ~umask.
void expect_modes_follow_umask(const fs::path& root, mode_t umask) {
  size_t checked = 0;
  auto check = [&](const fs::path& path) {
    struct stat status {};
    ASSERT_EQ(::lstat(path.c_str(), &status), 0) << path;
    const mode_t expected = (S_ISDIR(status.st_mode) ? 0777 : 0666) & ~umask;
    EXPECT_EQ(status.st_mode & 07777, expected)
        << path << std::oct << " has mode 0" << (status.st_mode & 07777) << " with umask 0" << umask;
    ++checked;
  };
  check(root);
  for (const auto& entry : fs::recursive_directory_iterator(root)) check(entry.path());
  EXPECT_GT(checked, 20u);
}

std::string interop_script() {
  return dtrain::testing::python() + " " +
         (dtrain::testing::source_dir() / "tests/train/transformers_interop.py").string();
}

TEST(TransformersInterop, GlueModelFoldersLoadInTransformersWithPredictsLogits) {
  DTRAIN_REQUIRE_PYTHON("transformers h5py");
  DTRAIN_REQUIRE_SHARED_DATA(shared);
  ScratchDir dir;
  const std::string dtrain = dtrain::testing::dtrain_binary().string();
  const fs::path tokenizer = shared / "vocab/bert-base-uncased";
  for (const char* split : {"train", "dev"}) {
    run_checked(dtrain + " prepare --tokenizer " + tokenizer.string() + " --input " +
                (shared / "glue/RTE" / (std::string(split) + ".tsv")).string() + " --output " +
                (dir / (std::string(split) + ".h5")).string() +
                " --text-a sentence1 --text-b sentence2 --label label --labels entailment,not_entailment "
                "--max-length 128 --threads 1");
  }
  std::ofstream(dir / "config.yaml") << kConfig;
  const fs::path out = dir / "out";
  // A group-readable umask: what a teammate on a shared cluster needs.
  run_checked("umask 027 && OMP_NUM_THREADS=1 " + dtrain + " train --config " +
              (dir / "config.yaml").string() + " --data.train_file " + (dir / "train.h5").string() +
              " --data.tokenizer " + tokenizer.string() + " --output_dir " + out.string());
  expect_modes_follow_umask(out, 027);

  std::string folders;
  for (const fs::path folder : {out, out / "checkpoint-3"}) {
    const fs::path predictions = dir / (folder.filename().string() + "-logits.h5");
    run_checked("OMP_NUM_THREADS=1 " + dtrain + " predict --model " + folder.string() + " --data " +
                (dir / "dev.h5").string() + " --output " + predictions.string());
    folders += " " + folder.string() + "=" + predictions.string();
  }
  // checkpoint-6 holds the final weights: it must give the final model's predictions.
  folders += " " + (out / "checkpoint-6").string() + "=" + (dir / "out-logits.h5").string();
  const auto checked =
      run_checked("HF_HUB_OFFLINE=1 " + interop_script() + " --dataset " + (dir / "dev.h5").string() +
                  " --table " + (shared / "glue/RTE/dev.tsv").string() +
                  " --text-a sentence1 --text-b sentence2 --labels entailment,not_entailment "
                  "--require tokenizer.json" +
                  folders);
  std::cout << checked.output;
}

TEST(TransformersInterop, BareVocabularyGetsTokenizerFilesAndTheUmaskIsFollowed) {
  DTRAIN_REQUIRE_PYTHON("transformers h5py");
  ScratchDir dir;
  const std::string dtrain = dtrain::testing::dtrain_binary().string();
  run_checked(dtrain + " prepare-synthetic --output " + (dir / "synth").string() +
              " --train-rows 64 --dev-rows 16");
  ASSERT_FALSE(fs::exists(dir / "synth/tokenizer/tokenizer_config.json"))
      << "the synthetic tokenizer is a bare vocab.txt";
  std::ofstream(dir / "config.yaml") << kConfig;
  const fs::path out = dir / "out";
  run_checked("umask 022 && OMP_NUM_THREADS=1 " + dtrain + " train --config " +
              (dir / "config.yaml").string() + " --model.config.vocab_size 505 --data.train_file " +
              (dir / "synth/train.h5").string() + " --data.tokenizer " + (dir / "synth/tokenizer").string() +
              " --output_dir " + out.string());
  expect_modes_follow_umask(out, 022);
  // tokenizer_config.json and special_tokens_map.json written from dtrain's settings make AutoTokenizer
  // encode the table as the dataset was prepared.
  run_checked("HF_HUB_OFFLINE=1 " + interop_script() + " --dataset " + (dir / "synth/dev.h5").string() +
              " --table " + (dir / "synth/dev.tsv").string() +
              " --text-a sentence1 --text-b sentence2 --max-length 64 " + out.string() + " " +
              (out / "checkpoint-3").string() + " " + (out / "checkpoint-6").string());
}

}  // namespace
}  // namespace dtrain::train
