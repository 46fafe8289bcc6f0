"""References for dtrain's reporting (src/train/reporting), from the tensorboard and transformers packages.

usage: tensorboard_reference.py JOB.json OUT.json

JOB.json is an object; each key present asks for one answer under the same key in OUT.json:
  "crc": [hex byte string]       -> [[crc32c, masked crc32c]] by tensorboard's own CRC (its record reader's)
  "events": LOGDIR               -> what TensorBoard reads from LOGDIR: {"scalars": EventAccumulator's scalars by
                                    tag, [step, value] in step order; "files": every event of each event file,
                                    as stored (RawEventFileLoader)}
  "tags": [log entry]            -> for each entry, the tags transformers' TensorBoardCallback gives its numbers
  "logdir": true                 -> transformers' default TensorBoard folder name (runs/<date>_<host>)
  "save_metrics": [DIR, [[split, metrics]]]  -> transformers' save_metrics for each call, in order, into DIR;
                                    the answer is all_results.json's text after each call
One process answers them all: importing transformers costs seconds.
"""
import glob
import json
import os
import sys
import types


def crc(blobs):
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c, masked_crc32c

    return [[crc32c(b), masked_crc32c(b)] for b in (bytes.fromhex(h) for h in blobs)]


def events(logdir):
    from tensorboard.backend.event_processing import event_accumulator, event_file_loader
    from tensorboard.compat.proto import event_pb2

    accumulator = event_accumulator.EventAccumulator(logdir, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    scalars = {tag: [[e.step, e.value] for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    files = {}
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        raw = []
        for record in event_file_loader.RawEventFileLoader(path).Load():
            event = event_pb2.Event.FromString(record)
            kind = event.WhichOneof("what")
            item = {"kind": kind, "step": event.step, "wall_time": event.wall_time,
                    "writer": event.source_metadata.writer}
            if kind == "file_version":
                item["file_version"] = event.file_version
            elif kind == "summary":
                item["values"] = [[v.tag, v.simple_value, v.WhichOneof("value")] for v in event.summary.value]
            elif kind == "session_log":
                item["status"] = event.session_log.status
            raw.append(item)
        files[os.path.basename(path)] = raw
    return {"scalars": scalars, "files": files}


def tags(entries):
    from transformers.integrations.integration_utils import rewrite_logs

    out = []
    for entry in entries:
        logs = {k: v for k, v in entry.items() if k != "step"}  # Trainer.log passes the step apart
        out.append(sorted(k for k, v in rewrite_logs(logs).items() if isinstance(v, (int, float))))
    return out


def logdir(_):
    from transformers.integrations.integration_utils import default_logdir

    return default_logdir()


def save_metrics(job):
    from transformers.trainer_pt_utils import save_metrics as trainer_save_metrics

    output_dir, calls = job
    trainer = types.SimpleNamespace(args=types.SimpleNamespace(output_dir=output_dir),
                                    is_world_process_zero=lambda: True)
    snapshots = []
    for split, metrics in calls:
        trainer_save_metrics(trainer, split, metrics)
        with open(os.path.join(output_dir, "all_results.json")) as f:
            snapshots.append(f.read())
    return snapshots


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    answers = {"crc": crc, "events": events, "tags": tags, "logdir": logdir, "save_metrics": save_metrics}
    with open(sys.argv[2], "w") as f:
        json.dump({key: answers[key](value) for key, value in job.items()}, f)


if __name__ == "__main__":
    main()
