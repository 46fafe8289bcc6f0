"""Checks model folders written by `dtrain train` with the real transformers (offline).

Usage: transformers_interop.py --dataset DEV.h5 --table DEV.tsv --text-a COL [--text-b COL]
           [--labels a,b,...] [--max-length N] FOLDER[=PREDICTIONS.h5] ...

For every FOLDER (the final model or a checkpoint-N):
- the Hugging Face files are there (config.json, model.safetensors, tokenizer_config.json,
  special_tokens_map.json, and tokenizer.json/vocab.txt);
- AutoModelForSequenceClassification.from_pretrained loads it with no missing, unexpected or
  mismatched weight and without any warning from transformers' loggers;
- id2label/label2id carry --labels;
- with =PREDICTIONS.h5 (written by `dtrain predict`), transformers' logits on DEV.h5's samples equal
  the file's within 1e-5 (fp32);
- AutoTokenizer.from_pretrained(FOLDER) encodes DEV.tsv into exactly DEV.h5's input_ids and
  token_type_ids;
- trainer_state.json loads with transformers.TrainerState.load_from_json and has exactly
  TrainerState's keys, with the folder's global step.
"""
import argparse
import dataclasses
import json
import logging
import pathlib
import re
import sys

import h5py
import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainerState

TOLERANCE = 1e-5


def fail(message):
    sys.exit(f"transformers_interop: {message}")


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def read_samples(dataset_path):
    with h5py.File(dataset_path, "r") as dataset:
        offsets = dataset["offsets"][:]
        input_ids = dataset["input_ids"][:].astype(np.int64)
        token_type_ids = dataset["token_type_ids"][:].astype(np.int64)
    return [(input_ids[begin:end], token_type_ids[begin:end]) for begin, end in zip(offsets[:-1], offsets[1:])]


def read_table(path, text_a, text_b):
    lines = pathlib.Path(path).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    a, b = header.index(text_a), header.index(text_b) if text_b else None
    return [(row[a], row[b] if b is not None else None) for row in rows]


def transformers_logits(model, samples, batch_size=32):
    logits = []
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            batch = samples[start:start + batch_size]
            length = max(len(ids) for ids, _ in batch)
            input_ids = torch.full((len(batch), length), model.config.pad_token_id, dtype=torch.long)
            token_type_ids = torch.zeros((len(batch), length), dtype=torch.long)
            attention_mask = torch.zeros((len(batch), length), dtype=torch.long)
            for row, (ids, types) in enumerate(batch):
                input_ids[row, :len(ids)] = torch.from_numpy(ids)
                token_type_ids[row, :len(ids)] = torch.from_numpy(types)
                attention_mask[row, :len(ids)] = 1
            logits.append(model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).logits.numpy())
    return np.concatenate(logits)


def check_folder(folder, predictions, samples, texts, args):
    for name in ["config.json", "model.safetensors", "tokenizer_config.json", "special_tokens_map.json",
                 "vocab.txt", "trainer_state.json"] + args.require:
        if not (folder / name).is_file():
            fail(f"{folder}: no {name}")

    warnings = Warnings()
    logging.getLogger("transformers").addHandler(warnings)
    model, info = AutoModelForSequenceClassification.from_pretrained(folder, output_loading_info=True)
    logging.getLogger("transformers").removeHandler(warnings)
    for kind in ["missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"]:
        if info[kind]:
            fail(f"{folder}: {kind}: {sorted(info[kind])}")
    if warnings.messages:
        fail(f"{folder}: transformers warned while loading: {warnings.messages}")
    model.eval()

    if args.labels:
        expected = dict(enumerate(args.labels.split(",")))
        if model.config.id2label != expected:
            fail(f"{folder}: id2label is {model.config.id2label}, expected {expected}")
        if model.config.label2id != {name: index for index, name in expected.items()}:
            fail(f"{folder}: label2id is {model.config.label2id}")

    checked = ""
    if predictions:
        with h5py.File(predictions, "r") as file:
            predicted = file["logits"][:]
        logits = transformers_logits(model, samples)
        if predicted.shape != logits.shape:
            fail(f"{predictions}: logits of shape {predicted.shape}, transformers gives {logits.shape}")
        worst = float(np.abs(predicted - logits).max())
        if worst > TOLERANCE:
            fail(f"{folder}: dtrain predict and transformers differ by {worst:.3g} (> {TOLERANCE})")
        checked = f", logits (up to {np.abs(logits).max():.3g}) within {worst:.2g} of dtrain predict's"

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if len(texts) != len(samples):
        fail(f"{args.table} has {len(texts)} rows, {args.dataset} {len(samples)} samples")
    for row, ((text_a, text_b), (ids, types)) in enumerate(zip(texts, samples)):
        encoding = tokenizer(text_a, text_b, truncation=True, max_length=args.max_length)
        if encoding["input_ids"] != ids.tolist() or encoding["token_type_ids"] != types.tolist():
            fail(f"{folder}: AutoTokenizer encodes row {row} as {encoding['input_ids']}, the dataset has "
                 f"{ids.tolist()}")

    state_path = folder / "trainer_state.json"
    state = TrainerState.load_from_json(str(state_path))
    keys = set(json.loads(state_path.read_text()))
    fields = {field.name for field in dataclasses.fields(TrainerState)}
    if keys != fields:
        fail(f"{state_path}: keys differ from TrainerState's: extra {sorted(keys - fields)}, "
             f"missing {sorted(fields - keys)}")
    step = re.fullmatch(r"checkpoint-(\d+)", folder.name)
    if step and state.global_step != int(step.group(1)):
        fail(f"{state_path}: global_step {state.global_step}")
    print(f"{folder}: loads without warnings{checked}, {len(samples)} rows tokenized alike, "
          f"TrainerState at step {state.global_step}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--text-a", required=True)
    parser.add_argument("--text-b")
    parser.add_argument("--labels")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--require", action="append", default=[], help="another file every folder must have")
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args()

    samples = read_samples(args.dataset)
    texts = read_table(args.table, args.text_a, args.text_b)
    for spec in args.folders:
        folder, _, predictions = spec.partition("=")
        check_folder(pathlib.Path(folder), predictions, samples, texts, args)


if __name__ == "__main__":
    main()
