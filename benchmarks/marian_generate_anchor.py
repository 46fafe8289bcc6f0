"""The anchor of bench_marian_generate_torch: transformers' MarianMTModel.generate() on the same folder,
inputs, batches and generation settings.

Usage: marian_generate_anchor.py DIR MODE THREADS   (MODE: greedy | beam4)
Prints one JSON line like the dtrain side and writes the outputs to DIR/transformers-MODE.bin.
"""
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch
from transformers import MarianMTModel


def main():
    directory, mode, threads = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    model = MarianMTModel.from_pretrained(directory / "model")
    model.eval()
    num_beams = 4 if mode == "beam4" else 1
    manifest = json.loads((directory / "inputs" / "manifest.json").read_text())
    shape = manifest["input_ids"]["shape"]
    input_ids = torch.from_numpy(np.fromfile(directory / "inputs" / "input_ids.bin", dtype="<i8").reshape(shape))
    attention_mask = torch.from_numpy(
        np.fromfile(directory / "inputs" / "attention_mask.bin", dtype="<i8").reshape(shape))
    batch_size = manifest["batch_size"]
    pad = model.config.pad_token_id

    def translate(start):
        mask = attention_mask[start:start + batch_size]
        longest = int(mask.sum(1).max())
        with torch.inference_mode():
            return model.generate(input_ids[start:start + batch_size, :longest], attention_mask=mask[:, :longest],
                                  num_beams=num_beams)

    translate(0)  # warm-up
    outputs, tokens = [], 0
    begin = time.perf_counter()
    for start in range(0, shape[0], batch_size):
        outputs.append(translate(start))
        tokens += int((outputs[-1][:, 1:] != pad).sum())
    seconds = time.perf_counter() - begin
    everything = torch.full((shape[0], 512), pad, dtype=torch.long)
    for index, output in enumerate(outputs):
        everything[index * batch_size:(index + 1) * batch_size, :output.shape[1]] = output
    everything.numpy().astype("<i8").tofile(directory / f"transformers-{mode}.bin")
    print(json.dumps({"side": "transformers", "mode": mode, "threads": threads, "seconds": seconds,
                      "sentences_per_second": shape[0] / seconds, "tokens_per_second": tokens / seconds,
                      "generated_tokens": tokens}))


if __name__ == "__main__":
    main()
