"""Reference results for tests/metrics: the sacrebleu package (2.6) scoring the cases a test wrote.

usage: sacrebleu_reference.py CASES.json RESULTS.json

CASES.json is a list of cases, each {"kind": ..., ...}:
  bleu / chrf       "hypotheses": [str] or "hypothesis_file": path, "references": [[str]] (streams) or
                    "reference_files": [path], "options": keyword arguments of sacrebleu.metrics.BLEU/CHRF
  tokenize_13a      "lines": [str]                 -> sacrebleu's Tokenizer13a output for each line
  translation       "predictions", "references": [str], "prediction_ids": [[int]], "pad_id": int
                    -> run_translation.py's compute_metrics ({"bleu", "gen_len"}, rounded to 4 places)
Files are read as the sacrebleu command line reads them (UTF-8, lines split on "\\n", rstrip()).
RESULTS.json holds one result object per case, in order.
"""
import json
import sys

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a


def read_lines(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line.rstrip() for line in f]


def texts(case):
    hypotheses = case["hypotheses"] if "hypotheses" in case else read_lines(case["hypothesis_file"])
    if "references" in case:
        references = case["references"]
    else:
        references = [read_lines(path) for path in case["reference_files"]]
    return hypotheses, references


def score(case):
    kind = case["kind"]
    if kind == "tokenize_13a":
        tokenizer = Tokenizer13a()
        return {"tokens": [tokenizer(line) for line in case["lines"]]}
    if kind == "translation":
        result = BLEU().corpus_score(case["predictions"], [case["references"]])
        pad_id = case["pad_id"]
        preds = [np.array(p) for p in case["prediction_ids"]]
        preds = [np.where(p != -100, p, pad_id) for p in preds]
        lengths = [np.count_nonzero(p != pad_id) for p in preds]
        metrics = {"bleu": result.score, "gen_len": np.mean(lengths)}
        return {k: float(round(v, 4)) for k, v in metrics.items()}
    hypotheses, references = texts(case)
    metric = (BLEU if kind == "bleu" else CHRF)(**case.get("options", {}))
    result = metric.corpus_score(hypotheses, references)
    signature = str(metric.get_signature())
    out = {"score": result.score, "signature": signature, "line": result.format(signature=signature),
           "name": result.name}
    if kind == "bleu":
        out.update(counts=list(result.counts), totals=list(result.totals), precisions=list(result.precisions),
                   bp=result.bp, sys_len=result.sys_len, ref_len=result.ref_len)
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump([score(case) for case in cases], f, ensure_ascii=False)


if __name__ == "__main__":
    main()
