#pragma once
// DatasetInfo <-> the root attributes of a prepared dataset file. The attribute names live here
// only, so writer and reader cannot drift apart.
#include "data/dataset/dataset_format.h"
#include "data/dataset/hdf5.h"

namespace dtrain::data {

void write_info_attributes(hdf5::File& file, const DatasetInfo& info);

// Checks the format name and version first (a clear error for files from a newer dtrain), then
// reads every attribute; throws dtrain::Error naming the file and the attribute.
DatasetInfo read_info_attributes(const hdf5::File& file);

}  // namespace dtrain::data
