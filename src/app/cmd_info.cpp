// `dtrain info`: versions of the libraries dtrain was built with, for bug reports.
#include <H5public.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "common/error.h"
#include "data/tokenizers/sentencepiece.h"
#include "dist/process_group.h"
#include "model/torch_runtime.h"

namespace dtrain::app {
namespace {
const RegisterCommand kInfo([](CLI::App& app) -> std::function<void()> {
  app.add_subcommand("info", "Print the versions dtrain was built with");
  return [] {
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    const std::string mpi_version = dist::mpi_library_version();
    std::string sentencepiece;
    try {
      sentencepiece = data::sentencepiece_version();
    } catch (const Error& e) {
      sentencepiece = e.what();
    }
    std::printf("dtrain 0.1.0\n%s\nHDF5 %u.%u.%u\nMPI %.*s\nSentencePiece %s\nCUDA/NCCL path: %s\n",
                dtrain::model::torch_runtime_summary().c_str(), major, minor, release,
                static_cast<int>(std::min<size_t>(60, mpi_version.size())), mpi_version.c_str(),
                sentencepiece.c_str(),
#ifdef DTRAIN_WITH_CUDA
                "built"
#else
                "not built"
#endif
    );
  };
});
}  // namespace
}  // namespace dtrain::app
