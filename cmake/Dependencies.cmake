# Every dependency comes from a Debian package (launch/setup.sh) or, on GPU machines, from the
# LibTorch inside the PyTorch wheel (pass -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')).
find_package(Threads REQUIRED)
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(Torch REQUIRED)

find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
add_library(dtrain::utf8proc ALIAS PkgConfig::UTF8PROC)

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
