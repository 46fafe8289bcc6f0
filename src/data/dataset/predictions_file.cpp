#include "data/dataset/predictions_file.h"

#include <hdf5.h>

#include <string>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/dataset/hdf5.h"

namespace dtrain::data {
namespace {

// One dataset of `dims` holding `values` (host layout) stored as `file_type`.
template <class T>
void write_dataset(const hdf5::Id& file, const std::filesystem::path& path, const char* name,
                   std::vector<hsize_t> dims, hid_t file_type, const std::vector<T>& values) {
  hdf5::Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  DTRAIN_ASSERT(space.valid(), "{}: cannot describe /{} (HDF5: {})", path.string(), name, hdf5::last_error());
  hdf5::Id dataset(
      H5Dcreate2(file.get(), name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  DTRAIN_ASSERT(dataset.valid(), "{}: cannot create /{} (HDF5: {})", path.string(), name, hdf5::last_error());
  DTRAIN_CHECK(
      H5Dwrite(dataset.get(), hdf5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
      "{}: cannot write /{} (disk full?) (HDF5: {})", path.string(), name, hdf5::last_error());
}

}  // namespace

void write_predictions(const std::filesystem::path& path, const PredictionsTable& table) {
  DTRAIN_ASSERT(table.num_labels > 0 && table.logits.size() % table.num_labels == 0,
                "logits of {} values do not form rows of {} labels", table.logits.size(), table.num_labels);
  const auto rows = static_cast<hsize_t>(table.num_samples());
  AtomicFile output(path);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported through dtrain::Error instead
  hdf5::Id file(H5Fcreate(output.temporary_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                H5Fclose);
  DTRAIN_CHECK(file.valid(), "{}: cannot create the file (HDF5: {})", path.string(), hdf5::last_error());
  write_dataset(file, path, "logits", {rows, static_cast<hsize_t>(table.num_labels)}, H5T_IEEE_F32LE,
                table.logits);
  if (!table.class_labels.empty())
    write_dataset(file, path, "labels", {rows}, H5T_STD_I64LE, table.class_labels);
  else if (!table.regression_labels.empty())
    write_dataset(file, path, "labels", {rows}, H5T_IEEE_F32LE, table.regression_labels);
  DTRAIN_CHECK(file.close(), "{}: closing the file failed (disk full?) (HDF5: {})", path.string(),
               hdf5::last_error());
  output.commit();
}

}  // namespace dtrain::data
