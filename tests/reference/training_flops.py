"""Reference for tests/train/flops_test.cpp: the FLOPs torch.utils.flop_counter.FlopCounterMode counts
for one training step (forward with labels, backward) of transformers' BertForSequenceClassification
(eager attention, so that the attention products are plain matmuls).

  training_flops.py CASES_JSON
CASES_JSON is a list of {"config": {BertConfig fields}, "num_labels": C, "lengths": [5, 9, 12]}; prints
a list of {"padded": FLOPs of the batch padded to its longest sample, "real": the sum over the
samples run one at a time, unpadded} as JSON, one per case.
"""
import json
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import BertConfig, BertForSequenceClassification


def step_flops(model, lengths, padded_length):
    input_ids = torch.ones((len(lengths), padded_length), dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        attention_mask[row, :length] = 1
    labels = torch.zeros(len(lengths), dtype=torch.long)
    with FlopCounterMode(display=False) as counter:
        model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.backward()
    return counter.get_total_flops()


def case_flops(case):
    config = BertConfig(num_labels=case["num_labels"], attn_implementation="eager", **case["config"])
    model = BertForSequenceClassification(config)
    lengths = case["lengths"]
    return {"padded": step_flops(model, lengths, max(lengths)),
            "real": sum(step_flops(model, [length], length) for length in lengths)}


if __name__ == "__main__":
    print(json.dumps([case_flops(case) for case in json.loads(sys.argv[1])]))
