// Load time and peak memory of a BERT-base-sized Hugging Face checkpoint (~440 MB of float32).
//
// The benchmark saves a randomly initialised bert-base BertForSequenceClassification to a folder
// under /tmp (once as float32 and once as float16), then measures each load in a fresh child
// process (this executable with --load), so that peak RSS is the load's own: building the model,
// mapping the file and copying the weights. "cold" evicts the file from the page cache first
// (posix_fadvise DONTNEED), "warm" loads it straight after a previous read. With DTRAIN_PYTHON set
// (an environment with torch and transformers), the float32 weights are also saved by torch.save as
// pytorch_model.bin and loaded by dtrain, and, as the anchor, by transformers'
// AutoModelForSequenceClassification.from_pretrained in a fresh Python process. The folders are
// deleted at the end.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "model/hf/hf_checkpoint.h"
#include "model/hf/safetensors.h"

namespace fs = std::filesystem;
using dtrain::model::BertConfig;
using dtrain::model::BertForSequenceClassification;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Peak resident memory of this process so far, in MiB (VmHWM).
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

void evict_from_page_cache(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  DTRAIN_ASSERT(fd >= 0, "cannot open {}", path.string());
  ::fdatasync(fd);  // dirty pages of a file just written would stay cached
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Child: build the model from config.json, load the weights; prints "build_s load_s built_mib peak_mib",
// the peak RSS after building the model and after loading.
int measure_load(const fs::path& folder, const fs::path& weights, bool cold) {
  if (cold) evict_from_page_cache(weights);
  const auto start = std::chrono::steady_clock::now();
  BertForSequenceClassification model(dtrain::model::read_hf_config(folder));
  const double build_s = seconds_since(start);
  const double built_mib = peak_rss_mib();
  const auto load_start = std::chrono::steady_clock::now();
  dtrain::model::load_hf_weights(*model, dtrain::model::kBertForSequenceClassification, folder);
  std::printf("%.3f %.3f %.0f %.0f\n", build_s, seconds_since(load_start), built_mib, peak_rss_mib());
  return 0;
}

// transformers' from_pretrained of the same folder, in a fresh Python process; prints the columns of
// measure_load, the "built" peak being the interpreter's after importing torch and transformers'
// BERT (from_pretrained builds the model and loads its weights in one go, timed as the load).
const char* const kTransformersLoad = R"(
import os, resource, sys, time
import torch, transformers
import transformers.models.bert.modeling_bert  # imported before the clock starts, as in a warm process
from transformers import AutoModelForSequenceClassification
if sys.argv[2] == "cold":
    fd = os.open(sys.argv[3], os.O_RDONLY); os.fdatasync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
torch.set_num_threads(1)
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
AutoModelForSequenceClassification.from_pretrained(sys.argv[1])
print(0, time.perf_counter() - start, built, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
)";

// Runs `command`, which prints "build_s load_s built_mib peak_mib", and prints its table row.
bool print_row(const std::string& label, double megabytes, const char* cache, const std::string& command) {
  FILE* child = ::popen(command.c_str(), "r");
  double build_s = 0, load_s = 0, built = 0, peak = 0;
  const bool ok = child && std::fscanf(child, "%lf %lf %lf %lf", &build_s, &load_s, &built, &peak) == 4;
  if (child) ::pclose(child);
  if (!ok) {
    std::fprintf(stderr, "measuring %s failed\n", command.c_str());
    return false;
  }
  std::printf("| %s | %.0f | %s | %.2f | %.3f | %.2f | %.0f | %.0f |\n", label.c_str(), megabytes, cache,
              build_s, load_s, megabytes / 1e3 / load_s, built, peak);
  return true;
}

struct ScratchFolder {
  fs::path path = fs::temp_directory_path() / ("dtrain-bench-checkpoint-" + std::to_string(::getpid()));
  ~ScratchFolder() { fs::remove_all(path); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "--load") == 0)
    return measure_load(argv[2], argv[3], std::strcmp(argv[4], "cold") == 0);

  ScratchFolder scratch;
  BertConfig config;  // bert-base-uncased shapes
  config.set_num_labels(2);
  {
    BertForSequenceClassification model(config);
    dtrain::model::save_hf_checkpoint(*model, scratch.path / "f32");
    std::vector<dtrain::model::NamedTensor> halves;
    for (const auto& item : model->named_parameters())
      halves.push_back({item.key(), item.value().to(at::kHalf)});
    fs::create_directories(scratch.path / "f16");
    fs::copy_file(scratch.path / "f32/config.json", scratch.path / "f16/config.json");
    dtrain::model::write_safetensors(scratch.path / "f16/model.safetensors", halves);
  }
  const char* python = std::getenv("DTRAIN_PYTHON");
  if (python) {
    fs::create_directories(scratch.path / "bin");
    fs::copy_file(scratch.path / "f32/config.json", scratch.path / "bin/config.json");
    const std::string save = std::string(python) +
                             " -c 'import sys, torch; from safetensors.torch import load_file; "
                             "torch.save(load_file(sys.argv[1]), sys.argv[2])' " +
                             (scratch.path / "f32/model.safetensors").string() + " " +
                             (scratch.path / "bin/pytorch_model.bin").string();
    if (std::system(save.c_str()) != 0) {
      std::fprintf(stderr, "writing pytorch_model.bin with %s failed\n", python);
      return 1;
    }
  }
  std::printf(
      "| checkpoint | file MB | cache | build model s | load weights s | load GB/s | peak RSS MiB: built |"
      " loaded |\n|---|--:|---|--:|--:|--:|--:|--:|\n");
  struct Case {
    const char* label;
    const char* folder;
    const char* file;
    bool transformers;
  };
  std::vector<Case> cases = {{"f32", "f32", "model.safetensors", false},
                             {"f16", "f16", "model.safetensors", false}};
  if (python) {
    cases.push_back({"f32 .bin", "bin", "pytorch_model.bin", false});
    cases.push_back({"f32 .bin, transformers", "bin", "pytorch_model.bin", true});
  }
  for (const Case& item : cases) {
    const fs::path folder = scratch.path / item.folder;
    const double megabytes = fs::file_size(folder / item.file) / 1e6;
    for (const char* cache : {"cold", "warm", "warm", "warm"}) {
      const std::string command =
          item.transformers ? std::string(python) + " -c '" + kTransformersLoad + "' " + folder.string() +
                                  " " + cache + " " + (folder / item.file).string()
                            : fs::canonical("/proc/self/exe").string() + " --load " + folder.string() + " " +
                                  (folder / item.file).string() + " " + cache;
      if (!print_row(item.label, megabytes, cache, command)) return 1;
    }
  }
  return 0;
}
