# Every dependency comes from a Debian package (launch/setup.sh) except LibTorch, which is the one
# inside the torch wheel of DTRAIN_PYTHON's environment (launch/requirements.txt; on a GPU node, the
# node's PyTorch), so dtrain, the Python references and the GPU nodes run the same torch.
set(DTRAIN_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python whose torch provides LibTorch, and which runs the reference tests and benchmark anchors")
if(NOT EXISTS "${DTRAIN_PYTHON}")
  message(FATAL_ERROR "DTRAIN_PYTHON=${DTRAIN_PYTHON} does not exist: run launch/setup.sh (it creates "
                      ".venv), or pass -DDTRAIN_PYTHON=/path/to/python with torch installed")
endif()
if(NOT Torch_DIR)
  execute_process(COMMAND ${DTRAIN_PYTHON} -c "import torch; print(torch.utils.cmake_prefix_path)"
                  OUTPUT_VARIABLE DTRAIN_TORCH_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE torch_found ERROR_VARIABLE torch_error)
  if(NOT torch_found EQUAL 0)
    message(FATAL_ERROR "${DTRAIN_PYTHON} cannot import torch (run launch/setup.sh): ${torch_error}")
  endif()
  list(PREPEND CMAKE_PREFIX_PATH ${DTRAIN_TORCH_PREFIX})
endif()
find_package(Threads REQUIRED)
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(Torch REQUIRED)
find_package(Protobuf REQUIRED)  # TensorBoard event files

# The torch wheel ships fmt 12's headers inside its include folder, ahead of /usr/include on the search
# path; Debian's spdlog needs Debian's fmt 9 (which it links). dtrain includes none of torch's headers
# that use fmt, so the torch targets see their include folder through a folder of links to every entry
# but fmt/, and <fmt/...> resolves to Debian's.
get_filename_component(DTRAIN_TORCH_INCLUDE "${TORCH_INSTALL_PREFIX}/include" ABSOLUTE)
set(DTRAIN_TORCH_INCLUDE_VIEW "${CMAKE_BINARY_DIR}/torch-include")
if(EXISTS "${DTRAIN_TORCH_INCLUDE}/fmt")
  file(REMOVE_RECURSE "${DTRAIN_TORCH_INCLUDE_VIEW}")
  file(MAKE_DIRECTORY "${DTRAIN_TORCH_INCLUDE_VIEW}")
  file(GLOB torch_include_entries RELATIVE "${DTRAIN_TORCH_INCLUDE}" "${DTRAIN_TORCH_INCLUDE}/*")
  foreach(entry ${torch_include_entries})
    if(NOT entry STREQUAL "fmt")
      file(CREATE_LINK "${DTRAIN_TORCH_INCLUDE}/${entry}" "${DTRAIN_TORCH_INCLUDE_VIEW}/${entry}" SYMBOLIC)
    endif()
  endforeach()
  foreach(target torch torch_cpu torch_cuda c10 c10_cuda torch_nvshmem headeronly)
    if(TARGET ${target})
      get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
      if(dirs)
        string(REPLACE "${DTRAIN_TORCH_INCLUDE}" "${DTRAIN_TORCH_INCLUDE_VIEW}" dirs "${dirs}")
        set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${dirs}")
      endif()
    endif()
  endforeach()
endif()

# libtorch.so in the wheel is linked without libstdc++.so and carries (and exports) its own copies of
# newer libstdc++ functions, std::filesystem among them. An executable that lists libtorch.so before
# libstdc++.so.6 binds its own std::filesystem calls to those copies, which crash outside torch
# (remove_all jumped to address 0). libstdc++.so.6 goes first in every executable's list instead.
add_link_options("LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")

find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
add_library(dtrain::utf8proc ALIAS PkgConfig::UTF8PROC)
# Debian's SentencePiece (libsentencepiece + libsentencepiece_train) for the Marian tokenizer. Only the
# shim library libdtrain_sentencepiece.so links it (see src/data/tokenizers/sentencepiece_api.h).
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

# Serial HDF5 is enough: every rank opens the file read-only and reads its own hyperslabs.
find_package(HDF5 REQUIRED COMPONENTS C)
add_library(dtrain_hdf5 INTERFACE)
target_include_directories(dtrain_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(dtrain_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(dtrain_hdf5 INTERFACE ${HDF5_C_DEFINITIONS} H5_USE_110_API)
add_library(dtrain::hdf5 ALIAS dtrain_hdf5)

# CUDA and NCCL are optional: the GPU path is built only where both are present.
set(DTRAIN_HAVE_CUDA OFF)
if(DTRAIN_WITH_CUDA)
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{NCCL_HOME}/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} $ENV{NCCL_HOME}/lib)
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    add_library(dtrain_nccl INTERFACE)
    target_include_directories(dtrain_nccl INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(dtrain_nccl INTERFACE ${NCCL_LIBRARY})
    add_library(dtrain::nccl ALIAS dtrain_nccl)
    set(DTRAIN_HAVE_CUDA ON)
  endif()
endif()
message(STATUS "dtrain: LibTorch ${Torch_VERSION}, CUDA/NCCL path: ${DTRAIN_HAVE_CUDA}")
