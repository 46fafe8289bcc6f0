"""Hugging Face Trainer on a dataset prepared by `dtrain prepare`: the reference dtrain is compared
against, step by step in tests/train/test_trainer_parity.cpp and for speed and quality in the
benchmarks (benchmarks/run_all.sh, benchmarks/mrpc_minilm.sh).

  hf_trainer.py init --config JSON [--pretrained DIR] --num-labels N --seed S --output DIR
      draws a BertForSequenceClassification with transformers (config JSON: BertConfig fields), or
      loads one from a pretrained folder (a new classifier where it has none), and saves it with
      save_pretrained: the common initial weights of a parity run.

  hf_trainer.py train --model DIR --train FILE.h5 [--eval FILE.h5 --task-name mrpc]
                      [--order trainer|dtrain] [--model_accepts_loss_kwargs auto|false]
                      [--save-model] --output_dir DIR [any TrainingArguments flag ...]
      Trainer.train() with those TrainingArguments (logging_steps, learning_rate, warmup_steps,
      bf16, eval_strategy, ...; use_cpu and report_to none are implied). Writes
      OUTPUT/log_history.json (Trainer's state.log_history) and OUTPUT/summary.json (runtime,
      throughput without evaluations, final evaluation, threads, world size); --save-model also
      saves the final model (model.safetensors).

--order dtrain makes Trainer train on dtrain's sample order (README "Loading data": one SplitMix64 +
Fisher-Yates permutation per (data_seed, epoch); consecutive per-device batches of it), so that
both see the same batches; --order trainer keeps Trainer's own RandomSampler. Runs under torchrun
too (gloo on CPUs); the files are written by the main process.

--model_accepts_loss_kwargs false: BertForSequenceClassification.forward takes **kwargs, so
Trainer 5.x passes it num_items_in_batch and stops dividing the loss by gradient_accumulation_steps
(and multiplies it by the number of processes, average_tokens_across_devices), but the model
ignores num_items_in_batch and returns each micro-batch's mean: the loss, the gradients and the
logged loss and grad_norm come out gradient_accumulation_steps x processes times too large. Trainer's
documentation says to set model_accepts_loss_kwargs to False for such a model; the parity test
does.
"""
import argparse
import dataclasses
import json
import os
import pathlib
import sys
import time

import h5py
import numpy as np
import torch

MASK64 = (1 << 64) - 1


class SplitMix64:
    """data/loading/deterministic_random.h, bit for bit."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, bound):
        threshold = ((1 << 64) - bound) % bound
        while True:
            value = self.next()
            if value >= threshold:
                return value % bound


def derive_seed(seed, stream):
    return SplitMix64(seed ^ SplitMix64(stream).next()).next()


def dtrain_epoch_order(num_samples, seed, epoch):
    """TrainSampler::epoch_order without group_by_length."""
    order = list(range(num_samples))
    random = SplitMix64(derive_seed(seed, epoch))
    for i in range(num_samples - 1, 0, -1):
        j = random.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


class DtrainOrderSampler(torch.utils.data.Sampler):
    """Yields dtrain's permutation of the epoch. Trainer (through accelerate) calls set_epoch before
    each epoch; an epoch counter covers the case where nobody does."""

    def __init__(self, num_samples, seed):
        self.num_samples, self.seed, self.epoch, self.iterations = num_samples, seed, None, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        epoch = self.epoch if self.epoch is not None else self.iterations
        self.iterations += 1
        return iter(dtrain_epoch_order(self.num_samples, self.seed, epoch))


class PreparedDataset(torch.utils.data.Dataset):
    """A `dtrain prepare` HDF5 file (README "Dataset format") as Trainer's features."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.offsets = f["offsets"][:]
            self.input_ids = f["input_ids"][:].astype(np.int64)
            self.token_type_ids = f["token_type_ids"][:].astype(np.int64)
            self.labels = f["labels"][:]
            self.pad_id = int(f.attrs["pad_id"])
            self.num_labels = int(f.attrs["num_labels"])
            self.regression = f.attrs["task"] == "regression"

    def __len__(self):
        return len(self.offsets) - 1

    def __getitem__(self, i):
        begin, end = self.offsets[i], self.offsets[i + 1]
        label = self.labels[i]
        return {"input_ids": self.input_ids[begin:end], "token_type_ids": self.token_type_ids[begin:end],
                "labels": float(label) if self.regression else int(label)}

    def collate(self, samples):
        """Dynamic padding to the batch's longest sample, as DataCollatorWithPadding and dtrain do."""
        width = max(len(s["input_ids"]) for s in samples)
        input_ids = torch.full((len(samples), width), self.pad_id, dtype=torch.long)
        token_type_ids = torch.zeros((len(samples), width), dtype=torch.long)
        attention_mask = torch.zeros((len(samples), width), dtype=torch.long)
        for row, sample in enumerate(samples):
            length = len(sample["input_ids"])
            input_ids[row, :length] = torch.from_numpy(sample["input_ids"])
            token_type_ids[row, :length] = torch.from_numpy(sample["token_type_ids"])
            attention_mask[row, :length] = 1
        labels = torch.tensor([s["labels"] for s in samples],
                              dtype=torch.float32 if self.regression else torch.long)
        return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask,
                "labels": labels}


def classification_metrics(prediction):
    """accuracy and, for two classes, F1 of class 1: what evaluate's glue/mrpc computes."""
    logits, labels = prediction.predictions, prediction.label_ids
    predicted = np.argmax(logits, axis=-1)
    metrics = {"accuracy": float((predicted == labels).mean())}
    if logits.shape[-1] == 2:
        tp = int(((predicted == 1) & (labels == 1)).sum())
        fp = int(((predicted == 1) & (labels == 0)).sum())
        fn = int(((predicted == 0) & (labels == 1)).sum())
        metrics["f1"] = 2 * tp / max(1, 2 * tp + fp + fn)
    return metrics


def init(argv):
    parser = argparse.ArgumentParser(prog="hf_trainer.py init")
    parser.add_argument("--config", required=True, help="BertConfig fields as JSON")
    parser.add_argument("--pretrained", help="start from this model folder (--config then overrides its fields, "
                                             "e.g. the dropout); the classifier is drawn new if it has none")
    parser.add_argument("--num-labels", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(args.seed)
    if args.pretrained:
        model = BertForSequenceClassification.from_pretrained(args.pretrained, num_labels=args.num_labels,
                                                              **json.loads(args.config))
    else:
        model = BertForSequenceClassification(BertConfig(num_labels=args.num_labels, **json.loads(args.config)))
    model.save_pretrained(args.output)


@dataclasses.dataclass
class ScriptArguments:
    model: str = dataclasses.field(metadata={"help": "Hugging Face model folder to start from"})
    train: str = dataclasses.field(metadata={"help": "training set prepared by dtrain prepare"})
    eval: str = dataclasses.field(default="", metadata={"help": "evaluation set, prepared likewise"})
    task_name: str = dataclasses.field(default="", metadata={"help": "GLUE task (metrics: accuracy, F1)"})
    order: str = dataclasses.field(default="trainer", metadata={"choices": ["trainer", "dtrain"]})
    model_accepts_loss_kwargs: str = dataclasses.field(default="auto", metadata={"choices": ["auto", "false"]})
    save_model: bool = dataclasses.field(default=False)
    timed_after_step: int = dataclasses.field(
        default=0, metadata={"help": "summary.json's timed_samples_per_second leaves out the steps up to this one "
                                     "(start-up), as dtrain's first log window"})


def train(argv):
    from transformers import (BertForSequenceClassification, HfArgumentParser, Trainer, TrainerCallback,
                              TrainingArguments)

    class StepClock(TrainerCallback):
        """Wall time at the end of every optimizer step."""

        def __init__(self):
            self.step_ends = {}

        def on_step_end(self, args, state, control, **kwargs):
            self.step_ends[state.global_step] = time.perf_counter()

    parser = HfArgumentParser((ScriptArguments, TrainingArguments))
    script, training = parser.parse_args_into_dataclasses(
        args=argv + ["--use_cpu", "true", "--report_to", "none"] +
        ([] if "--save_strategy" in argv else ["--save_strategy", "no"]))
    train_set = PreparedDataset(script.train)
    eval_set = PreparedDataset(script.eval) if script.eval else None
    model = BertForSequenceClassification.from_pretrained(script.model, num_labels=train_set.num_labels)
    data_seed = training.data_seed if training.data_seed is not None else training.seed

    class ReferenceTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            if script.order == "dtrain":
                return DtrainOrderSampler(len(train_set), data_seed)
            return super()._get_train_sampler(train_dataset)

    trainer = ReferenceTrainer(model=model, args=training, train_dataset=train_set, eval_dataset=eval_set,
                               data_collator=train_set.collate,
                               compute_metrics=classification_metrics if script.task_name else None)
    if script.model_accepts_loss_kwargs == "false":
        trainer.model_accepts_loss_kwargs = False
    clock = StepClock()
    trainer.add_callback(clock)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    if not trainer.is_world_process_zero():
        return
    output = pathlib.Path(training.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    history = trainer.state.log_history
    (output / "log_history.json").write_text(json.dumps(history, indent=1) + "\n")
    if script.save_model:
        trainer.save_model(str(output))
    evaluations = [entry for entry in history if "eval_loss" in entry]
    eval_seconds = sum(entry["eval_runtime"] for entry in evaluations)
    global_batch = training.per_device_train_batch_size * training.gradient_accumulation_steps * training.world_size
    samples = (training.num_train_epochs * len(train_set) if training.max_steps <= 0 else
               training.max_steps * global_batch)
    summary = {"world_size": training.world_size, "torch_threads": torch.get_num_threads(),
               "torch": torch.__version__, "steps": trainer.state.global_step, "samples": samples,
               "train_seconds": seconds, "eval_seconds": eval_seconds,
               "train_samples_per_second": samples / (seconds - eval_seconds),
               "final_evaluation": evaluations[-1] if evaluations else None}
    last = trainer.state.global_step
    if 0 < script.timed_after_step < last and not evaluations:
        timed = clock.step_ends[last] - clock.step_ends[script.timed_after_step]
        summary["timed_samples_per_second"] = (last - script.timed_after_step) * global_batch / timed
    (output / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("init", "train"):
        sys.exit(__doc__)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    {"init": init, "train": train}[sys.argv[1]](sys.argv[2:])
