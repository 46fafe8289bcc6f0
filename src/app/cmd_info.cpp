// `dtrain info`: versions of the libraries dtrain was built with, for bug reports.
#include <H5public.h>
#include <mpi.h>

#include <cstdio>

#include "app/commands.h"
#include "common/error.h"
#include "data/tokenizers/sentencepiece.h"
#include "model/torch_runtime.h"

namespace dtrain::app {
namespace {
const RegisterCommand kInfo([](CLI::App& app) -> std::function<void()> {
  app.add_subcommand("info", "Print the versions dtrain was built with");
  return [] {
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(mpi_version, &length);
    std::string sentencepiece;
    try {
      sentencepiece = data::sentencepiece_version();
    } catch (const Error& e) {
      sentencepiece = e.what();
    }
    std::printf("dtrain 0.1.0\n%s\nHDF5 %u.%u.%u\nMPI %.*s\nSentencePiece %s\nCUDA/NCCL path: %s\n",
                dtrain::model::torch_runtime_summary().c_str(), major, minor, release,
                length > 60 ? 60 : length, mpi_version, sentencepiece.c_str(),
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
