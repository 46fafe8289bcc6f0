#pragma once
// DatasetInfo <-> the root attributes of a prepared dataset file. The attribute names live here
// only, so writer and reader cannot drift apart.
#include "data/dataset/dataset_format.h"
#include "data/dataset/hdf5.h"

namespace dtrain::data {

// Writes every attribute of the current format version (fixed-length strings).
void write_info_attributes(hdf5::File& file, const DatasetInfo& info);

// Checks the format name and version first (a clear error for files from a newer dtrain), then
// reads every attribute of that version; throws dtrain::Error naming the file and the attribute.
// `strings` says whether variable-length strings (format 1) may be read.
DatasetInfo read_info_attributes(const hdf5::File& file, hdf5::StringStorage strings);

}  // namespace dtrain::data
