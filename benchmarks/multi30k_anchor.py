"""Hugging Face's side of benchmarks/multi30k_marian.sh: Multi30k en->fr with a small Marian trained from
scratch by Seq2SeqTrainer, and the course's BLEU (generate() + sacrebleu) for any model folder.

  multi30k_anchor.py init --config configs/X.yaml --tokenizer DIR --seed S --output DIR --run-config FILE
                           --trainer-flags FLAGS
      draws a MarianMTModel with transformers from the YAML's model.config (vocabulary and special ids from
      the Marian tokenizer folder, as dtrain fills them from the dataset) and saves it with the tokenizer:
      the common initial weights. Writes FILE: the same YAML with model.name_or_path = DIR instead of
      model.config, for dtrain; and --trainer-flags FLAGS: its training section as Seq2SeqTrainingArguments
      flags.

  multi30k_anchor.py train --model DIR --train FILE.h5 --output_dir DIR [Seq2SeqTrainingArguments flags]
      Seq2SeqTrainer.train() on a dataset made by `dtrain prepare --task translation` (ids equal to
      MarianTokenizer(source, text_target=target)), DataCollatorForSeq2Seq batches, Trainer's own sampler;
      use_cpu, report_to none and save_strategy no are implied. Runs under torchrun (gloo). Writes
      OUTPUT/log_history.json, OUTPUT/train_results.json (Trainer's train metrics) and the final model.

  multi30k_anchor.py bleu --model DIR --source FILE --reference FILE [--num-beams 4] [--max-length 64]
                          [--batch-size 64] --output FILE
      translates the source lines with generate() + batch_decode(skip_special_tokens=True) and scores them
      with sacrebleu's BLEU (defaults: 13a, exp smoothing, cased); writes the translations to FILE and
      prints {"bleu", "signature", "seconds", "sentences_per_second"} as JSON.

  multi30k_anchor.py report --work DIR
      the Markdown table of a benchmarks/multi30k_marian.sh run from WORK/runs.jsonl, each side's
      train_results.json and WORK/*.bleu.json.
"""
import argparse
import json
import os
import pathlib
import sys
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "reference"))


def init(args):
    import torch
    import yaml
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    run_config = yaml.safe_load(pathlib.Path(args.config).read_text())
    fields = dict(run_config["model"]["config"])
    fields.pop("model_type", None)
    tokenizer = MarianTokenizer.from_pretrained(args.tokenizer)
    # The fields dtrain takes from the dataset's tokenizer (tasks/translation/translation_task.cpp), and
    # opus-mt-en-fr's: shared embeddings, sinusoidal positions, the pad id banned from generation.
    fields.setdefault("vocab_size", len(tokenizer))
    fields.setdefault("decoder_vocab_size", len(tokenizer))
    fields.setdefault("pad_token_id", tokenizer.pad_token_id)
    fields.setdefault("decoder_start_token_id", tokenizer.pad_token_id)
    fields.setdefault("eos_token_id", tokenizer.eos_token_id)
    fields.setdefault("forced_eos_token_id", tokenizer.eos_token_id)
    fields.setdefault("bad_words_ids", [[tokenizer.pad_token_id]])
    torch.manual_seed(args.seed)
    model = MarianMTModel(MarianConfig(**fields))
    model.save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)

    run_config["model"] = {"name_or_path": str(args.output)}
    pathlib.Path(args.run_config).write_text(yaml.safe_dump(run_config, sort_keys=False))
    # The same hyper-parameters as Seq2SeqTrainingArguments flags: the YAML's training section less what
    # the benchmark sets itself (where the outputs go, evaluation and checkpoints during training).
    benchmark_owned = {"output_dir", "eval_strategy", "save_strategy", "save_total_limit", "predict_with_generate",
                       "generation_max_length", "generation_num_beams", "load_best_model_at_end",
                       "metric_for_best_model", "per_device_eval_batch_size"}
    flags = [f"--{key} {value}" for key, value in run_config["training"].items() if key not in benchmark_owned]
    pathlib.Path(args.trainer_flags).write_text(" ".join(flags) + "\n")


def train(args, flags):
    import torch
    from marian_task_reference import load_dataset
    from transformers import (DataCollatorForSeq2Seq, HfArgumentParser, MarianMTModel, MarianTokenizer,
                              Seq2SeqTrainer, Seq2SeqTrainingArguments)

    (training,) = HfArgumentParser(Seq2SeqTrainingArguments).parse_args_into_dataclasses(
        args=["--output_dir", args.output_dir, "--use_cpu", "true", "--report_to", "none", "--save_strategy",
              "no", *flags])
    model = MarianMTModel.from_pretrained(args.model)
    tokenizer = MarianTokenizer.from_pretrained(args.model)
    samples = [{"input_ids": source, "labels": target} for source, target in load_dataset(args.train)]
    trainer = Seq2SeqTrainer(model=model, args=training, train_dataset=samples,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model))
    result = trainer.train()
    if trainer.is_world_process_zero():
        output = pathlib.Path(args.output_dir)
        output.mkdir(parents=True, exist_ok=True)
        (output / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1) + "\n")
        metrics = dict(result.metrics, world_size=training.world_size, threads=torch.get_num_threads())
        (output / "train_results.json").write_text(json.dumps(metrics, indent=1) + "\n")
    trainer.save_model(args.output_dir)


def bleu(args):
    import sacrebleu
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    model = MarianMTModel.from_pretrained(args.model).eval()
    tokenizer = MarianTokenizer.from_pretrained(args.model)
    sources = pathlib.Path(args.source).read_text(encoding="utf-8").splitlines()
    references = pathlib.Path(args.reference).read_text(encoding="utf-8").splitlines()
    translations = []
    start = time.perf_counter()
    with torch.no_grad():
        for first in range(0, len(sources), args.batch_size):
            batch = tokenizer(sources[first:first + args.batch_size], return_tensors="pt", padding=True,
                              truncation=True)
            generated = model.generate(**batch, num_beams=args.num_beams, max_length=args.max_length)
            translations += tokenizer.batch_decode(generated, skip_special_tokens=True)
    seconds = time.perf_counter() - start
    pathlib.Path(args.output).write_text("".join(line + "\n" for line in translations), encoding="utf-8")
    metric = sacrebleu.BLEU()
    score = metric.corpus_score(translations, [references])
    print(json.dumps({"bleu": score.score, "score_line": str(score),
                      "signature": str(metric.get_signature()), "seconds": seconds,
                      "sentences_per_second": len(sources) / seconds, "threads": torch.get_num_threads()}))


def report(args):
    work = pathlib.Path(args.work)
    runs = {run["side"]: run for run in map(json.loads, (work / "runs.jsonl").read_text().splitlines())}
    rows = []
    for side, label in (("dtrain", "dtrain, 2 ranks (mpirun)"), ("seq2seq-trainer", "Seq2SeqTrainer, 2 processes (torchrun, gloo)")):
        results = json.loads((work / side / "train_results.json").read_text())
        score = json.loads((work / f"{side}.bleu.json").read_text())
        rows.append((label, score, results, runs[side]))
    anchor_speed = rows[1][2]["train_samples_per_second"]
    lines = ["| | sacreBLEU test_2016_flickr (4 beams) | training samples/s | speed vs Seq2SeqTrainer | "
             "train_runtime (s) | wall time (s) | load before / after |", "|---|---:|---:|---:|---:|---:|---|"]
    for label, score, results, run in rows:
        lines.append(f"| {label} | {score['bleu']:.2f} | {results['train_samples_per_second']:.1f} | "
                     f"{results['train_samples_per_second'] / anchor_speed:.2f}x | {results['train_runtime']:.0f} | "
                     f"{run['wall_seconds']:.0f} | {run['load_before']:.1f} / {run['load_after']:.1f} |")
    lines += ["", "BLEU lines (transformers generate() + sacrebleu " + rows[0][1]["signature"] + "):", ""]
    lines += [f"- {label}: {score['score_line']}" for label, score, _, _ in rows]
    cross_check = work / "dtrain.dtrain-bleu.txt"
    if cross_check.exists():
        lines.append(f"- dtrain's model, `dtrain translate` + `dtrain bleu`: {cross_check.read_text().strip()}")
    text = "\n".join(lines) + "\n"
    (work / "report.md").write_text(text)
    print(text, end="")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("init")
    p.add_argument("--config", required=True)
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", required=True)
    p.add_argument("--run-config", required=True)
    p.add_argument("--trainer-flags", required=True)
    p = commands.add_parser("train")
    p.add_argument("--model", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--output_dir", required=True)
    p = commands.add_parser("bleu")
    p.add_argument("--model", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--num-beams", type=int, default=4)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--output", required=True)
    p = commands.add_parser("report")
    p.add_argument("--work", required=True)
    args, flags = parser.parse_known_args()
    if args.command == "train":
        train(args, flags)
    elif flags:
        parser.error(f"unrecognized arguments: {' '.join(flags)}")
    else:
        {"init": init, "bleu": bleu, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
