"""Prepared datasets through h5py and hashlib alone, following README's "Dataset format" contract
(no dtrain code), for the dataset tests:

  dump FILE         verify the checksum header, print every attribute and dataset as JSON
  reseal FILE       recompute the checksum header after an edit (what dtrain prepare writes last)
  edit FILE CODE    run CODE with `f` the file opened by h5py for writing, then reseal it
  write-v1 JSON H5  write a format-1 file (variable-length strings, no checksums) from a JSON
                    description {"attrs": {...}, "datasets": {"input_ids": [...], ...}}
  to-v1 FILE H5     write a format-2 classification/regression file's content as a format-1 file
"""
import hashlib
import json
import sys

import h5py
import numpy as np

HEADER_BYTES = 512


def header_of(path):
    with open(path, "rb") as f:
        block = f.read(HEADER_BYTES)
        rest = f.read()
    line, _, padding = block.partition(b"\n")
    assert padding == b"\0" * len(padding), "header padding is not NUL bytes"
    header = json.loads(line)
    assert header["format"] == "dtrain.checksum" and header["version"] == 1, header
    return header, hashlib.sha256(rest).hexdigest(), HEADER_BYTES + len(rest)


def plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def dump(path):
    header, sha256, size = header_of(path)
    assert header["sha256"] == sha256 and header["size"] == size, (header, sha256, size)
    with h5py.File(path, "r") as f:
        out = {"attrs": {name: plain(f.attrs[name]) for name in f.attrs},
               "attr_types": {}, "datasets": {}, "dtypes": {}, "filters": {}}
        for name in f.attrs:
            kind = f.attrs.get_id(name).dtype
            out["attr_types"][name] = "vlen" if h5py.check_string_dtype(kind) and \
                h5py.check_string_dtype(kind).length is None else kind.kind
        for name, dataset in f.items():
            out["datasets"][name] = dataset[:].tolist()
            out["dtypes"][name] = str(dataset.dtype)
            out["filters"][name] = sorted(dataset._filters.keys())
    out["header"] = header
    print(json.dumps(out))


def reseal(path):
    with open(path, "rb") as f:
        f.seek(HEADER_BYTES)
        rest = f.read()
    header = {"format": "dtrain.checksum", "version": 1, "size": HEADER_BYTES + len(rest),
              "sha256": hashlib.sha256(rest).hexdigest()}
    line = (json.dumps(header, separators=(",", ":")) + "\n").encode()
    with open(path, "r+b") as f:
        f.write(line + b"\0" * (HEADER_BYTES - len(line)))


def write_v1(description, path):
    spec = json.load(open(description))
    types = {"input_ids": "<i4", "token_type_ids": "<i1", "offsets": "<i8"}
    text = h5py.string_dtype("utf-8")
    with h5py.File(path, "w", libver="earliest") as f:
        for name, values in spec["datasets"].items():
            dtype = types.get(name, "<f4" if spec["attrs"]["task"] == "regression" else "<i8")
            chunk = 32768 if name in ("input_ids", "token_type_ids") else 16384
            f.create_dataset(name, data=np.array(values, dtype=dtype), maxshape=(None,),
                             chunks=(chunk,), shuffle=True, compression="gzip", compression_opts=4)
        for name, value in spec["attrs"].items():
            if isinstance(value, str):
                f.attrs.create(name, value, dtype=text)
            elif isinstance(value, list):
                f.attrs.create(name, np.array(value, dtype=object), dtype=text)
            else:
                f.attrs.create(name, value, dtype="<i8")


V1_ATTRIBUTES = ("format", "format_version", "task", "num_labels", "label_names", "vocab_size", "pad_id",
                 "cls_id", "sep_id", "max_length", "vocab_sha256", "source_file", "source_sha256",
                 "tokenizer_settings", "num_samples", "total_tokens")


def to_v1(path, v1_path):
    with h5py.File(path, "r") as f:
        attrs = {name: plain(f.attrs[name]) for name in V1_ATTRIBUTES}
        datasets = {name: f[name][:].tolist() for name in ("input_ids", "token_type_ids", "offsets", "labels")}
    attrs["format_version"] = 1
    description = v1_path + ".json"
    json.dump({"attrs": attrs, "datasets": datasets}, open(description, "w"))
    write_v1(description, v1_path)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "dump":
        dump(sys.argv[2])
    elif command == "reseal":
        reseal(sys.argv[2])
    elif command == "edit":
        with h5py.File(sys.argv[2], "r+") as f:
            exec(sys.argv[3], {"f": f, "np": np})
        reseal(sys.argv[2])
    elif command == "write-v1":
        write_v1(sys.argv[2], sys.argv[3])
    elif command == "to-v1":
        to_v1(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {command}")
