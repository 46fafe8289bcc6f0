"""Independent safetensors reader/writer (numpy + json, following the published format) and
Hugging Face BERT checkpoint fixtures, for the C++ checkpoint tests.

  write-dtypes OUT                      tensors of known values in F32, F16, BF16, I64
  rewrite IN OUT                        check IN follows the format, write its tensors to OUT
                                        (reversed order, no padding) with this writer
  check-bert DIR                        check a folder dtrain saved is what transformers'
                                        BertForSequenceClassification.from_pretrained expects
  bert DIR --variant V --dtype D        a random HF-layout BERT checkpoint in DIR, plus
                                        DIR/expected/model.safetensors: the F32 values (after
                                        rounding to D) under dtrain's parameter names
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

NUMPY_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
                "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
ITEM_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
              "U8": 1, "BOOL": 1}


def fail(message):
    sys.exit(f"safetensors_tool: {message}")


def to_bf16_bits(values):
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode(values, dtype):
    """Little-endian bytes of a numpy array stored as safetensors `dtype`."""
    if dtype == "BF16":
        return to_bf16_bits(values).tobytes()
    little_endian = np.dtype(NUMPY_DTYPES[dtype]).newbyteorder("<")
    return np.ascontiguousarray(values, dtype=little_endian).tobytes()


def write(path, tensors, pad=True):
    """tensors: list of (name, dtype, shape, bytes), written in that order."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for _, _, _, data in tensors:
            out.write(data)


def read(path):
    """Checks the format rules; returns (header dict, list of (name, dtype, shape, bytes) in header order)."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    if 8 + length > len(blob):
        fail(f"{path}: header length {length} past the end")
    if length % 8:
        fail(f"{path}: header length {length} is not a multiple of 8")
    header_bytes = blob[8:8 + length]
    if header_bytes.rstrip(b" ") != header_bytes.rstrip():
        fail(f"{path}: header padded with something other than spaces")
    header = json.loads(header_bytes)
    data = blob[8 + length:]
    if header.get("__metadata__") != {"format": "pt"}:
        fail(f"{path}: __metadata__ is {header.get('__metadata__')}, expected {{'format': 'pt'}}")
    tensors = []
    expected_begin = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        if begin != expected_begin:
            fail(f"{path}: tensor {name} starts at {begin}, expected {expected_begin} (header order)")
        size = int(np.prod(entry["shape"], dtype=np.int64)) * ITEM_SIZES[entry["dtype"]]
        if end - begin != size:
            fail(f"{path}: tensor {name} spans {end - begin} bytes, shape needs {size}")
        tensors.append((name, entry["dtype"], entry["shape"], data[begin:end]))
        expected_begin = end
    if expected_begin != len(data):
        fail(f"{path}: {len(data) - expected_begin} trailing data bytes")
    return header, tensors


def write_dtypes(out):
    values = (np.arange(6, dtype=np.float32) * 0.5 - 1.25).reshape(2, 3)  # exact in F16 and BF16
    write(out, [(f"values_{dtype.lower()}", dtype, values.shape, encode(values, dtype))
                for dtype in ("F32", "F16", "BF16")] +
          [("indices_i64", "I64", (4,), encode(np.array([0, -1, 2**40, 7]), "I64")),
           ("empty_f32", "F32", (0, 3), b"")])


def rewrite(source, out):
    _, tensors = read(source)
    write(out, list(reversed(tensors)), pad=False)


TINY_BERT = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 37, "max_position_embeddings": 128, "type_vocab_size": 2}


def bert_shapes(config, num_labels):
    """dtrain/HF parameter names of BertForSequenceClassification -> shape."""
    h, i = config["hidden_size"], config["intermediate_size"]
    shapes = {"bert.embeddings.word_embeddings.weight": (config["vocab_size"], h),
              "bert.embeddings.position_embeddings.weight": (config["max_position_embeddings"], h),
              "bert.embeddings.token_type_embeddings.weight": (config["type_vocab_size"], h),
              "bert.embeddings.LayerNorm.weight": (h,), "bert.embeddings.LayerNorm.bias": (h,)}
    for layer in range(config["num_hidden_layers"]):
        prefix = f"bert.encoder.layer.{layer}."
        for name, out_size, in_size in [("attention.self.query", h, h), ("attention.self.key", h, h),
                                        ("attention.self.value", h, h), ("attention.output.dense", h, h),
                                        ("intermediate.dense", i, h), ("output.dense", h, i)]:
            shapes[prefix + name + ".weight"] = (out_size, in_size)
            shapes[prefix + name + ".bias"] = (out_size,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[prefix + norm + ".weight"] = (h,)
            shapes[prefix + norm + ".bias"] = (h,)
    shapes["bert.pooler.dense.weight"] = (h, h)
    shapes["bert.pooler.dense.bias"] = (h,)
    shapes["classifier.weight"] = (num_labels, h)
    shapes["classifier.bias"] = (num_labels,)
    return shapes


def legacy_name(name):
    return name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")


def pretraining_extras(config):
    h, v = config["hidden_size"], config["vocab_size"]
    return {"cls.predictions.bias": (v,), "cls.predictions.transform.dense.weight": (h, h),
            "cls.predictions.transform.dense.bias": (h,), "cls.predictions.transform.LayerNorm.weight": (h,),
            "cls.predictions.transform.LayerNorm.bias": (h,), "cls.predictions.decoder.weight": (v, h),
            "cls.seq_relationship.weight": (2, h), "cls.seq_relationship.bias": (2,)}


def write_bert(folder, variant, dtype, seed, vocab_size, num_labels):
    """variants: plain, sharded, legacy (gamma/beta names), bare (BertModel without 'bert.' prefix and
    classifier), pretraining (BertForPreTraining: cls.* heads and position_ids, no classifier)."""
    rng = np.random.default_rng(seed)
    config = dict(TINY_BERT, vocab_size=vocab_size, architectures=["BertForSequenceClassification"],
                  model_type="bert",
                  hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                  layer_norm_eps=1e-12, initializer_range=0.02, pad_token_id=0,
                  id2label={str(k): f"LABEL_{k}" for k in range(num_labels)},
                  label2id={f"LABEL_{k}": k for k in range(num_labels)})
    shapes = bert_shapes(config, num_labels)
    if variant in ("bare", "pretraining"):
        shapes = {k: v for k, v in shapes.items() if not k.startswith("classifier.")}
    stored, expected = [], []
    for name, shape in shapes.items():
        values = rng.normal(0.0, 0.5, size=shape).astype(np.float32)
        data = encode(values, dtype)
        if dtype == "F16":
            values = values.astype(np.float16).astype(np.float32)
        elif dtype == "BF16":
            values = bf16_bits_to_f32(to_bf16_bits(values))
        stored_name = name
        if variant == "legacy":
            stored_name = legacy_name(name)
        elif variant == "bare":
            stored_name = name[len("bert."):]
        stored.append((stored_name, dtype, shape, data))
        expected.append((name, "F32", shape, encode(values, "F32")))
    if variant == "pretraining":
        config["architectures"] = ["BertForPreTraining"]
        del config["id2label"], config["label2id"]
        for name, shape in pretraining_extras(config).items():
            stored.append((name, dtype, shape, encode(rng.normal(size=shape), dtype)))
        positions = np.arange(config["max_position_embeddings"]).reshape(1, -1)
        stored.append(("bert.embeddings.position_ids", "I64", positions.shape, encode(positions, "I64")))
    rng.shuffle(stored)  # checkpoints need not follow the model's parameter order

    os.makedirs(os.path.join(folder, "expected"), exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as out:
        json.dump(config, out, indent=2)
    write(os.path.join(folder, "expected", "model.safetensors"), expected)
    if variant == "sharded":
        half = len(stored) // 2
        shards = {"model-00001-of-00002.safetensors": stored[:half],
                  "model-00002-of-00002.safetensors": stored[half:]}
        weight_map = {}
        for shard, tensors in shards.items():
            write(os.path.join(folder, shard), tensors)
            weight_map.update({name: shard for name, _, _, _ in tensors})
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as out:
            total_size = sum(len(data) for _, _, _, data in stored)
            json.dump({"metadata": {"total_size": total_size}, "weight_map": weight_map}, out)
    else:
        write(os.path.join(folder, "model.safetensors"), stored)


def check_bert(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    expect = {"model_type": "bert", "architectures": ["BertForSequenceClassification"],
              "torch_dtype": "float32"}
    for key, value in expect.items():
        if config.get(key) != value:
            fail(f"config.json: {key} is {config.get(key)!r}, expected {value!r}")
    id2label = {int(k): v for k, v in config["id2label"].items()}
    if sorted(id2label) != list(range(len(id2label))):
        fail(f"config.json: id2label keys {sorted(id2label)} are not 0..n-1")
    if {v: k for k, v in id2label.items()} != config["label2id"]:
        fail("config.json: label2id is not the inverse of id2label")
    _, tensors = read(os.path.join(folder, "model.safetensors"))
    stored = {name: (dtype, tuple(shape)) for name, dtype, shape, _ in tensors}
    wanted = {name: ("F32", shape) for name, shape in bert_shapes(config, len(id2label)).items()}
    if stored != wanted:
        fail(f"model.safetensors: tensors differ from HF's: extra {sorted(set(stored) - set(wanted))}, "
             f"missing {sorted(set(wanted) - set(stored))}, "
             f"mismatched {sorted(k for k in stored if k in wanted and stored[k] != wanted[k])}")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    dtypes = commands.add_parser("write-dtypes")
    dtypes.add_argument("out")
    copy = commands.add_parser("rewrite")
    copy.add_argument("source")
    copy.add_argument("out")
    check = commands.add_parser("check-bert")
    check.add_argument("folder")
    bert = commands.add_parser("bert")
    bert.add_argument("folder")
    bert.add_argument("--variant", default="plain",
                      choices=["plain", "sharded", "legacy", "bare", "pretraining"])
    bert.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    bert.add_argument("--seed", type=int, default=0)
    bert.add_argument("--vocab-size", type=int, default=TINY_BERT["vocab_size"])
    bert.add_argument("--num-labels", type=int, default=3)
    args = parser.parse_args()
    if args.command == "write-dtypes":
        write_dtypes(args.out)
    elif args.command == "rewrite":
        rewrite(args.source, args.out)
    elif args.command == "check-bert":
        check_bert(args.folder)
    else:
        write_bert(args.folder, args.variant, args.dtype, args.seed, args.vocab_size, args.num_labels)


if __name__ == "__main__":
    main()
