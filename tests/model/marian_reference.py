"""transformers' MarianMTModel as the reference for dtrain's Marian model and generate().

Usage: marian_reference.py PLAN.json   (run with dtrain's Python: DTRAIN_PYTHON)

PLAN.json is a list of jobs, run in order in one process (importing transformers takes seconds):

  {"kind": "forward", "dir": D, "model": M}
      Loads dtrain's folder M with MarianMTModel.from_pretrained and records in D/load_info.json what
      transformers reports as missing, unexpected or mismatched. Runs D's input_ids, attention_mask,
      decoder_input_ids and labels through it in eval mode and writes D/logits.bin, D/loss.json (the
      model's mean cross-entropy and Trainer's LabelSmoother loss at D/label_smoothing.json's factor)
      and each parameter's gradient of the mean loss, D/grad.<name>.bin.
  {"kind": "generate", "dir": D, "model": M}
      model.generation_config = D/generation_config.json; writes model.generate(input_ids,
      attention_mask=attention_mask) as D/sequences.bin and D/sequences.json ({"shape": [...]}).
  {"kind": "save", "dir": D, "config": {...}, "seed": S, "max_shard_size": "20KB" or null,
   "legacy_names": bool}
      Builds MarianMTModel(MarianConfig(**config)) with torch.manual_seed(S), moves every weight and
      final_logits_bias off its initial value, and saves it to D/model with save_pretrained (sharded
      when max_shard_size is set). With legacy_names the weights are instead written as one
      safetensors file holding every name of the state dict, tied aliases and position tables
      included, as PyTorch pickles of older checkpoints do. Then writes the logits of D's inputs as
      D/logits.bin.

Tensors are raw little-endian files listed in D/manifest.json ({name: {"dtype", "shape"}}).
"""
import json
import os
import pathlib
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch
from transformers import GenerationConfig, MarianConfig, MarianMTModel
from transformers.trainer_pt_utils import LabelSmoother


def read_inputs(case_dir):
    manifest = json.loads((case_dir / "manifest.json").read_text())
    return {name: torch.from_numpy(np.fromfile(case_dir / f"{name}.bin", dtype=entry["dtype"])
                                   .reshape(entry["shape"]).copy())
            for name, entry in manifest.items()}


def write_floats(path, tensor):
    tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tofile(path)


def load(model_dir):
    model, info = MarianMTModel.from_pretrained(model_dir, output_loading_info=True)
    model.eval()
    return model, {key: sorted(str(item) for item in value) for key, value in info.items()}


def run_forward(job):
    case_dir = pathlib.Path(job["dir"])
    model, info = load(job["model"])
    (case_dir / "load_info.json").write_text(json.dumps(info))
    inputs = read_inputs(case_dir)
    labels = inputs["labels"]
    output = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                   decoder_input_ids=inputs["decoder_input_ids"], labels=labels)
    write_floats(case_dir / "logits.bin", output.logits)
    smoothing = json.loads((case_dir / "label_smoothing.json").read_text())["label_smoothing"]
    smoothed = LabelSmoother(epsilon=smoothing)(output, labels)
    (case_dir / "loss.json").write_text(json.dumps({"loss": output.loss.item(), "smoothed_loss": smoothed.item()}))
    output.loss.backward()
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:  # not the position tables (computed under no_grad)
            write_floats(case_dir / f"grad.{name}.bin", parameter.grad)


def run_generate(job):
    case_dir = pathlib.Path(job["dir"])
    model = models.get(job["model"])
    if model is None:
        model, _ = load(job["model"])
        models[job["model"]] = model
    inputs = read_inputs(case_dir)
    model.generation_config = GenerationConfig.from_pretrained(case_dir)
    with torch.no_grad():
        sequences = model.generate(inputs["input_ids"], attention_mask=inputs["attention_mask"])
    sequences.numpy().astype("<i8").tofile(case_dir / "sequences.bin")
    (case_dir / "sequences.json").write_text(json.dumps({"shape": list(sequences.shape)}))


def run_save(job):
    case_dir = pathlib.Path(job["dir"])
    torch.manual_seed(job["seed"])
    model = MarianMTModel(MarianConfig(**job["config"]))
    model.eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "embed_positions" not in name:  # fixed tables, recomputed on load
                parameter.add_(torch.randn_like(parameter) * 0.1)
        model.final_logits_bias.copy_(torch.randn_like(model.final_logits_bias))
    model_dir = case_dir / "model"
    if job.get("legacy_names"):
        model_dir.mkdir(parents=True, exist_ok=True)
        model.config.save_pretrained(model_dir)
        from safetensors.torch import save_file
        state = {name: tensor.detach().clone().contiguous() for name, tensor in model.state_dict().items()}
        save_file(state, model_dir / "model.safetensors", metadata={"format": "pt"})
    elif job.get("max_shard_size"):
        model.save_pretrained(model_dir, max_shard_size=job["max_shard_size"])
    else:
        model.save_pretrained(model_dir)
    inputs = read_inputs(case_dir)
    with torch.no_grad():
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                       decoder_input_ids=inputs["decoder_input_ids"]).logits
    write_floats(case_dir / "logits.bin", logits)


models = {}


def main():
    torch.set_num_threads(int(os.environ.get("DTRAIN_REFERENCE_THREADS", "2")))
    for job in json.loads(pathlib.Path(sys.argv[1]).read_text()):
        {"forward": run_forward, "generate": run_generate, "save": run_save}[job["kind"]](job)


if __name__ == "__main__":
    main()
