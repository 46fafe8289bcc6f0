"""Hugging Face Trainer's own bookkeeping, as the reference for dtrain's torch-free trainer parts.

    trainer_reference.py INPUT.json

INPUT holds {"flow": [...], "best": [...], "state": {"dtrain_file": ..., "out_file": ...}}; the script
prints {"flow": ..., "best": ..., "state": ...} as one JSON document:
  flow   DefaultFlowCallback's log/evaluate/save decisions at every step of each case
  best   EarlyStoppingCallback and Trainer._determine_best_metric over each case's evaluations
  state  TrainerState reading dtrain's trainer_state.json, and writing one for dtrain to read
"""

import dataclasses
import json
import sys
import tempfile
import types

from transformers import Trainer, TrainingArguments
from transformers.trainer_callback import (
    DefaultFlowCallback,
    EarlyStoppingCallback,
    TrainerControl,
    TrainerState,
)


def training_arguments(folder, settings):
    return TrainingArguments(output_dir=folder, report_to=[], use_cpu=True, **settings)


def flow(cases):
    """For each case {"args": {...}, "max_steps": n, "steps_per_epoch": k}: per step, [log, evaluate, save]."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for case in cases:
            args = training_arguments(folder, case["args"])
            state = TrainerState(max_steps=case["max_steps"])
            state.compute_steps(args, case["max_steps"])
            callback = DefaultFlowCallback()
            decisions = []
            for step in range(1, case["max_steps"] + 1):
                state.global_step = step
                control = TrainerControl()
                callback.on_step_end(args, state, control)
                if step % case["steps_per_epoch"] == 0:
                    state.epoch = step // case["steps_per_epoch"]
                    callback.on_epoch_end(args, state, control)
                decisions.append([control.should_log, control.should_evaluate, control.should_save])
            results.append(
                {
                    "intervals": [state.logging_steps, state.eval_steps, state.save_steps],
                    "decisions": decisions,
                }
            )
    return results


def best(cases):
    """For each case {"args": {...}, "patience": p, "threshold": t, "values": [...]}: per evaluation,
    the early-stopping counter, whether training stops, and best_metric after it."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for case in cases:
            args = training_arguments(folder, case["args"])
            state = TrainerState()
            callback = EarlyStoppingCallback(case["patience"], case["threshold"])
            trainer = types.SimpleNamespace(args=args, state=state)
            name = args.metric_for_best_model
            key = name if name.startswith("eval_") else "eval_" + name
            evaluations = []
            for step, value in enumerate(case["values"], start=1):
                state.global_step = step
                control = TrainerControl()
                metrics = {key: value}
                # Trainer's order: evaluate() runs the callbacks, then the best metric is determined.
                callback.on_evaluate(args, state, control, metrics=metrics)
                Trainer._determine_best_metric(trainer, metrics, None)
                evaluations.append(
                    {
                        "counter": callback.early_stopping_patience_counter,
                        "stop": control.should_training_stop,
                        "best_metric": state.best_metric,
                        "best_global_step": state.best_global_step,
                    }
                )
            results.append(evaluations)
    return results


def state(dtrain_file, out_file):
    """Loads dtrain's trainer_state.json with TrainerState (which refuses keys it does not know), and
    writes a TrainerState with an EarlyStoppingCallback for dtrain to read."""
    with open(dtrain_file) as f:
        written = json.load(f)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(written, f)
        f.flush()
        loaded = TrainerState.load_from_json(f.name)

    callback = EarlyStoppingCallback(early_stopping_patience=4, early_stopping_threshold=0.25)
    callback.early_stopping_patience_counter = 2
    saved = TrainerState(
        epoch=2.5,
        global_step=35,
        max_steps=70,
        logging_steps=5,
        eval_steps=7,
        save_steps=14,
        train_batch_size=16,
        num_train_epochs=5,
        best_metric=0.125,
        best_model_checkpoint="runs/x/checkpoint-28",
        stateful_callbacks=[callback],
    )
    saved.log_history = [{"loss": 0.5, "step": 5}, {"eval_loss": 0.25, "step": 7}]
    saved.save_to_json(out_file)
    return {"loaded": dataclasses.asdict(loaded)}


def main():
    with open(sys.argv[1]) as f:
        request = json.load(f)
    result = {
        "flow": flow(request["flow"]),
        "best": best(request["best"]),
        "state": state(request["state"]["dtrain_file"], request["state"]["out_file"]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
