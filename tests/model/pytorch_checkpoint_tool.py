"""PyTorch checkpoints (torch.save, pytorch_model.bin) and Hugging Face folders written by the real
writers, for the C++ tests of dtrain's readers. Every expected value is written by `safetensors`
(the reference implementation), never by dtrain.

  tensors DIR                    DIR/{zip,ordered,legacy,protocol4}.bin: the same state dict saved by
                                 torch.save as a dict, as an OrderedDict with _metadata (what
                                 torch.save(model.state_dict()) writes), in the legacy format and
                                 with pickle protocol 4; every dtype, views with offsets and strides,
                                 tensors sharing a storage, a Parameter; DIR/expected.safetensors
  hf DIR --layout L              a tiny BertForSequenceClassification (3 named labels) saved as
                                 L = safetensors | safetensors-sharded (save_pretrained),
                                 bin | bin-sharded (huggingface_hub.save_torch_state_dict with
                                 safe_serialization=False, how transformers wrote .bin folders) |
                                 bin-legacy (torch.save(state_dict) in the pre-1.6 format) |
                                 bare (a BertModel without pooler, as sentence-transformers ships);
                                 DIR/reference.json: inputs with padding and the logits
                                 AutoModelForSequenceClassification.from_pretrained(DIR) computes,
                                 and its loading info (missing/unexpected keys)
  marian DIR                     the state dict of a tiny MarianMTModel (tied embeddings and
                                 lm_head share one storage) as sharded pytorch_model-*.bin files
                                 + index; DIR/expected.safetensors
  malicious FILE MARKER --kind K a checkpoint whose pickle would run `touch MARKER` when unpickled
                                 (K = reduce | protocol4 | legacy), or holds an arbitrary object
                                 (K = object)
  unsafe-load FILE               torch.load(FILE, weights_only=False): what dtrain must never do
  non-tensor FILE                a torch.save'd dict holding an int beside a tensor
  compress IN OUT                IN's zip archive with every record deflated

Several commands run in one process when separated by "+" (torch and transformers load once):
  pytorch_checkpoint_tool.py tensors DIR + compress DIR/zip.bin DIR/deflated.bin
"""
import argparse
import collections
import json
import logging
import os
import pathlib
import sys
import zipfile

import torch
from safetensors.torch import save_file

NAMED_LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def contiguous_copies(tensors):
    return {name: tensor.detach().clone().contiguous() for name, tensor in tensors.items()}


def sample_state_dict():
    torch.manual_seed(3)
    matrix = torch.randn(4, 6)
    shared = torch.randn(5, 3)
    tensors = {
        "f32": torch.randn(2, 3),
        "f16": torch.randn(7).half(),
        "bf16": torch.randn(2, 2).bfloat16(),
        "f64": torch.randn(3).double(),
        "i64": torch.tensor([0, -1, 1 << 40, 7]),
        "i32": torch.tensor([-5, 9], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "matrix": matrix,
        "matrix.transposed": matrix.t(),        # strided view of the same storage
        "matrix.row2": matrix[2],               # storage offset 12
        "matrix.column1": matrix[:, 1],         # offset 1, stride 6
        "shared.a": shared,                     # two names, one tensor (tied weights)
        "shared.b": shared,
        "parameter": torch.nn.Parameter(torch.randn(3, 2)),
    }
    return tensors


def write_tensors(out):
    out.mkdir(parents=True, exist_ok=True)
    tensors = sample_state_dict()
    torch.save(tensors, out / "zip.bin")
    ordered = collections.OrderedDict(tensors)
    ordered._metadata = collections.OrderedDict([("", {"version": 1}), ("layer", {"version": 2})])
    torch.save(ordered, out / "ordered.bin")
    torch.save(tensors, out / "legacy.bin", _use_new_zipfile_serialization=False)
    torch.save(tensors, out / "protocol4.bin", pickle_protocol=4)
    save_file(contiguous_copies(tensors), str(out / "expected.safetensors"))


def tiny_bert_config():
    from transformers import BertConfig
    return BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=37, max_position_embeddings=40, hidden_act="gelu",
                      id2label=NAMED_LABELS, label2id={v: k for k, v in NAMED_LABELS.items()})


class Messages(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def write_hf(out, layout):
    from huggingface_hub import save_torch_state_dict
    from transformers import AutoModelForSequenceClassification, BertForSequenceClassification, BertModel

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(11)
    config = tiny_bert_config()
    if layout == "bare":
        BertModel(config, add_pooling_layer=False).save_pretrained(out)
    else:
        model = BertForSequenceClassification(config)
        # Weights far from initialisation, so that a tensor that fails to load cannot go unnoticed.
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.5)
        if layout == "safetensors":
            model.save_pretrained(out)
        elif layout == "safetensors-sharded":
            model.save_pretrained(out, max_shard_size="20KB")
        else:
            config.save_pretrained(out)
            state_dict = model.state_dict()
            if layout == "bin":
                save_torch_state_dict(state_dict, out, safe_serialization=False)
            elif layout == "bin-sharded":
                save_torch_state_dict(state_dict, out, safe_serialization=False, max_shard_size="20KB")
            elif layout == "bin-legacy":
                torch.save(state_dict, out / "pytorch_model.bin", _use_new_zipfile_serialization=False)
            else:
                raise SystemExit(f"unknown layout {layout}")
    names = sorted(os.listdir(out))
    if layout.startswith("bin") and any(name.endswith(".safetensors") for name in names):
        raise SystemExit(f"{layout}: the folder must hold only pickles, has {names}")
    if layout.endswith("sharded") and not any(name.endswith(".index.json") for name in names):
        raise SystemExit(f"{layout}: expected shards and an index, got {names}")

    # The reference: what transformers itself reads from the folder just written.
    warnings = Messages()
    logging.getLogger("transformers").addHandler(warnings)
    reference, info = AutoModelForSequenceClassification.from_pretrained(out, output_loading_info=True)
    logging.getLogger("transformers").removeHandler(warnings)
    reference.eval()
    torch.manual_seed(5)
    input_ids = torch.randint(1, config.vocab_size, (3, 9))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = config.pad_token_id
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[0, 5:] = 1
    with torch.no_grad():
        logits = reference(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).logits
    (out / "reference.json").write_text(json.dumps({
        "input_ids": input_ids.tolist(), "attention_mask": attention_mask.tolist(),
        "token_type_ids": token_type_ids.tolist(), "logits": logits.tolist(),
        "missing_keys": sorted(info["missing_keys"]), "unexpected_keys": sorted(info["unexpected_keys"]),
        "warnings": warnings.messages}))


def write_marian(out):
    from huggingface_hub import save_torch_state_dict
    from transformers import MarianConfig, MarianMTModel

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(2)
    config = MarianConfig(vocab_size=64, d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=24,
                          decoder_ffn_dim=24, max_position_embeddings=32, pad_token_id=63,
                          decoder_start_token_id=63)
    state_dict = MarianMTModel(config).state_dict()
    tied = ["model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight",
            "lm_head.weight"]
    pointers = {state_dict[name].data_ptr() for name in tied}
    if len(pointers) != 1:
        raise SystemExit(f"expected {tied} to share one storage")
    save_torch_state_dict(state_dict, out, safe_serialization=False, max_shard_size="8KB")
    if not (out / "pytorch_model.bin.index.json").exists():
        raise SystemExit(f"expected a sharded checkpoint, got {sorted(os.listdir(out))}")
    (out / "tied.json").write_text(json.dumps(tied))
    save_file(contiguous_copies(state_dict), str(out / "expected.safetensors"))


class RunsAShellCommand:
    """Unpickling this runs `touch MARKER`: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_malicious(path, marker, kind):
    weights = torch.randn(2, 2)
    if kind == "reduce":
        torch.save({"weight": weights, "bias": RunsAShellCommand(marker)}, path)
    elif kind == "protocol4":
        torch.save({"weight": weights, "bias": RunsAShellCommand(marker)}, path, pickle_protocol=4)
    elif kind == "legacy":
        torch.save({"weight": weights, "bias": RunsAShellCommand(marker)}, path,
                   _use_new_zipfile_serialization=False)
    elif kind == "object":
        torch.save({"weight": weights, "args": argparse.Namespace(lr=0.1)}, path)
    else:
        raise SystemExit(f"unknown kind {kind}")


def compress(source, destination):
    with zipfile.ZipFile(source) as original, \
            zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as deflated:
        for item in original.infolist():
            deflated.writestr(item.filename, original.read(item.filename))


def run(argv):
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tensors").add_argument("out", type=pathlib.Path)
    hf = commands.add_parser("hf")
    hf.add_argument("out", type=pathlib.Path)
    hf.add_argument("--layout", required=True)
    commands.add_parser("marian").add_argument("out", type=pathlib.Path)
    malicious = commands.add_parser("malicious")
    malicious.add_argument("path", type=pathlib.Path)
    malicious.add_argument("marker")
    malicious.add_argument("--kind", required=True)
    commands.add_parser("unsafe-load").add_argument("path")
    commands.add_parser("non-tensor").add_argument("path")
    compressed = commands.add_parser("compress")
    compressed.add_argument("source")
    compressed.add_argument("destination")
    args = parser.parse_args(argv)

    if args.command == "tensors":
        write_tensors(args.out)
    elif args.command == "hf":
        write_hf(args.out, args.layout)
    elif args.command == "marian":
        write_marian(args.out)
    elif args.command == "malicious":
        write_malicious(args.path, args.marker, args.kind)
    elif args.command == "unsafe-load":
        torch.load(args.path, weights_only=False)
    elif args.command == "non-tensor":
        torch.save({"weight": torch.ones(2), "step": 3}, args.path)
    elif args.command == "compress":
        compress(args.source, args.destination)


def main():
    command = []
    for argument in sys.argv[1:] + ["+"]:
        if argument == "+":
            run(command)
            command = []
        else:
            command.append(argument)


if __name__ == "__main__":
    main()
