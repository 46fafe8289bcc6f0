"""The Hugging Face Trainer side of launch/gpu_check.sh's training benchmark, and the summary of
dtrain's side. Both print one JSON line with samples/s over the steps after the warm-up.

  gpu_trainer.py --config benchmarks/gpu_bert_base.yaml --train TRAIN.h5 --output-dir DIR \
                 --steps 120 --warmup-steps 30 [--KEY VALUE ...]
      Trains the config's model (transformers' BertForSequenceClassification from its
      model.config, random init) on a dataset made by `dtrain prepare`, with Trainer and the
      config's training settings: the same batch, learning rate, schedule, clipping and fp16 as
      `dtrain train --config` on one GPU. Batches are padded to data.pad_to_multiple_of, as
      dtrain pads them. --KEY VALUE overrides a setting the way dtrain's command line does
      (`--model.config.hidden_size 64`, `--per_device_train_batch_size 8`). fp16 applies on a
      GPU only (Trainer has no fp16 on the CPU), as in dtrain.
  gpu_trainer.py --summarize-dtrain OUTPUT_DIR/log.jsonl --warmup-steps 30
      dtrain's samples/s over the logging windows after the first --warmup-steps steps.
"""
import argparse
import json
import sys
import time

import torch
import yaml


def summarize_dtrain(log_path, warmup_steps):
    windows, previous_step = [], 0
    with open(log_path) as log:
        for line in log:
            entry = json.loads(line)
            if "samples_per_second" not in entry:
                continue
            steps = entry["step"] - previous_step
            previous_step = entry["step"]
            if entry["step"] > warmup_steps:
                windows.append((steps, entry["samples_per_second"]))
    if not windows:
        sys.exit(f"{log_path}: no logging window after step {warmup_steps}")
    steps = sum(n for n, _ in windows)
    # Each window logs samples/s over its own steps; all windows hold batches of the same size.
    rate = steps / sum(n / samples_per_second for n, samples_per_second in windows)
    return {"framework": "dtrain", "samples_per_second": rate, "steps": steps, "warmup_steps": warmup_steps,
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}


def apply_overrides(config, overrides):
    """dtrain's command-line overrides: `--model.x.y V` sets config[model][x][y], `--key V` a training key."""
    if len(overrides) % 2:
        sys.exit(f"overrides come in --key value pairs: {overrides}")
    for flag, value in zip(overrides[::2], overrides[1::2]):
        if not flag.startswith("--"):
            sys.exit(f"unexpected argument {flag}")
        path = flag[2:].split(".")
        if len(path) == 1:
            path = ["training"] + path
        section = config
        for key in path[:-1]:
            section = section.setdefault(key, {})
        section[path[-1]] = yaml.safe_load(value)


class TrainDataset(torch.utils.data.Dataset):
    """The samples of a dataset made by `dtrain prepare` (README: Dataset format)."""

    def __init__(self, path):
        import h5py
        with h5py.File(path, "r") as f:
            self.offsets = f["offsets"][:]
            self.input_ids = f["input_ids"][:].astype("int64")
            self.token_type_ids = f["token_type_ids"][:].astype("int64")
            self.labels = f["labels"][:]
            self.num_labels = int(f.attrs["num_labels"])
            self.pad_id = int(f.attrs["pad_id"])

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, index):
        begin, end = self.offsets[index], self.offsets[index + 1]
        return {"input_ids": self.input_ids[begin:end], "token_type_ids": self.token_type_ids[begin:end],
                "labels": int(self.labels[index])}


def make_collator(pad_id, multiple):
    def collate(samples):
        longest = max(len(s["input_ids"]) for s in samples)
        width = -(-longest // multiple) * multiple if multiple else longest
        batch = {"input_ids": torch.full((len(samples), width), pad_id, dtype=torch.long),
                 "token_type_ids": torch.zeros((len(samples), width), dtype=torch.long),
                 "attention_mask": torch.zeros((len(samples), width), dtype=torch.long),
                 "labels": torch.tensor([s["labels"] for s in samples], dtype=torch.long)}
        for row, sample in enumerate(samples):
            n = len(sample["input_ids"])
            batch["input_ids"][row, :n] = torch.from_numpy(sample["input_ids"])
            batch["token_type_ids"][row, :n] = torch.from_numpy(sample["token_type_ids"])
            batch["attention_mask"][row, :n] = 1
        return batch
    return collate


def train_with_trainer(args, overrides):
    import transformers
    from transformers import (BertConfig, BertForSequenceClassification, Trainer, TrainerCallback,
                              TrainingArguments)

    with open(args.config) as f:
        config = yaml.safe_load(f)
    apply_overrides(config, overrides)
    training = config.get("training", {})
    dataset = TrainDataset(args.train)
    cuda = torch.cuda.is_available()
    total_steps = args.warmup_steps + args.steps

    class StepClock(TrainerCallback):
        """Wall time at the end of the warm-up and of the last step (the GPU drained at both)."""

        def __init__(self):
            self.marks = {}

        def on_step_end(self, arguments, state, control, **kwargs):
            if state.global_step in (args.warmup_steps, total_steps):
                if cuda:
                    torch.cuda.synchronize()
                self.marks[state.global_step] = time.perf_counter()

    transformers.set_seed(training.get("seed", 42))
    model = BertForSequenceClassification(BertConfig(**config["model"]["config"], num_labels=dataset.num_labels))
    arguments = TrainingArguments(
        output_dir=args.output_dir, max_steps=total_steps,
        per_device_train_batch_size=training.get("per_device_train_batch_size", 8),
        learning_rate=training.get("learning_rate", 5e-5), weight_decay=training.get("weight_decay", 0.0),
        warmup_steps=training.get("warmup_steps", 0), max_grad_norm=training.get("max_grad_norm", 1.0),
        lr_scheduler_type=training.get("lr_scheduler_type", "linear"), seed=training.get("seed", 42),
        fp16=bool(training.get("fp16", False)) and cuda, use_cpu=not cuda, logging_steps=args.warmup_steps,
        save_strategy="no", eval_strategy="no", report_to=[], disable_tqdm=True, dataloader_drop_last=True)
    clock = StepClock()
    trainer = Trainer(model=model, args=arguments, train_dataset=dataset, callbacks=[clock],
                      data_collator=make_collator(dataset.pad_id, config.get("data", {}).get("pad_to_multiple_of")))
    output = trainer.train()
    seconds = clock.marks[total_steps] - clock.marks[args.warmup_steps]
    return {"framework": f"transformers {transformers.__version__} Trainer",
            "samples_per_second": args.steps * arguments.per_device_train_batch_size / seconds,
            "steps": args.steps, "warmup_steps": args.warmup_steps,
            "device": torch.cuda.get_device_name(0) if cuda else "cpu",
            "optimizer": str(getattr(arguments.optim, "value", arguments.optim)),
            "fp16": arguments.fp16, "train_loss": output.training_loss}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config")
    parser.add_argument("--train")
    parser.add_argument("--output-dir")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--warmup-steps", type=int, default=30)
    parser.add_argument("--summarize-dtrain", metavar="LOG_JSONL")
    args, overrides = parser.parse_known_args()
    if args.summarize_dtrain:
        result = summarize_dtrain(args.summarize_dtrain, args.warmup_steps)
    else:
        if not (args.config and args.train and args.output_dir):
            parser.error("--config, --train and --output-dir are required")
        result = train_with_trainer(args, overrides)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
