"""Checks `dtrain predict` output against reference logits from tests/model/reference_bert.py.

Usage: predict_reference.py MODEL_DIR DATASET.h5 PREDICTIONS.h5 [TOLERANCE]
MODEL_DIR holds config.json and expected/model.safetensors (the F32 weights under Hugging Face
names, as safetensors_tool.py bert writes them). The reference runs every sample of the prepared
dataset alone (no padding) and the script fails when any logit differs by more than TOLERANCE
(default 1e-4) or /labels differs from the dataset's.
"""
import json
import pathlib
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from reference_bert import ReferenceBert  # noqa: E402
from safetensors_tool import read  # noqa: E402


def main(model_dir, dataset_path, predictions_path, tolerance=1e-4):
    model_dir = pathlib.Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    _, stored = read(model_dir / "expected" / "model.safetensors")
    tensors = {name: torch.from_numpy(np.frombuffer(data, dtype="<f4").reshape(shape).copy())
               for name, dtype, shape, data in stored}
    model = ReferenceBert(config)
    model.load_hugging_face_tensors(tensors)
    model.eval()

    with h5py.File(dataset_path, "r") as dataset, h5py.File(predictions_path, "r") as predictions:
        offsets = dataset["offsets"][:]
        input_ids = dataset["input_ids"][:].astype(np.int64)
        token_type_ids = dataset["token_type_ids"][:].astype(np.int64)
        logits = predictions["logits"][:]
        if logits.shape != (len(offsets) - 1, model.num_labels):
            sys.exit(f"logits have shape {logits.shape}, expected {(len(offsets) - 1, model.num_labels)}")
        if not np.array_equal(predictions["labels"][:], dataset["labels"][:]):
            sys.exit("/labels differs from the dataset's labels")
    worst = 0.0
    with torch.no_grad():
        for sample, (begin, end) in enumerate(zip(offsets[:-1], offsets[1:])):
            ids = torch.from_numpy(input_ids[begin:end]).view(1, -1)
            types = torch.from_numpy(token_type_ids[begin:end]).view(1, -1)
            expected = model(ids, torch.ones_like(ids), types)[0].numpy()
            worst = max(worst, float(np.abs(expected - logits[sample]).max()))
    print(f"{len(offsets) - 1} samples, largest logit difference {worst:.3g}")
    if worst > tolerance:
        sys.exit(f"largest logit difference {worst:.3g} exceeds {tolerance}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(*sys.argv[1:3 + 1], *(float(value) for value in sys.argv[4:5]))
