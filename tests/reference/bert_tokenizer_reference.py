"""Hugging Face's own tokenizers as the reference for dtrain's BERT WordPiece tokenizer.

glue: every row of every GLUE train/dev file through transformers' BertTokenizerFast (the Rust
      `tokenizers` crate), one JSON object per row: {source, row, text_a, text_b (null for single
      sentences), encodings}, where encodings[i] = {max_length, input_ids, token_type_ids, decoded}
      and decoded is batch_decode(input_ids, skip_special_tokens=True).
      Usage: bert_tokenizer_reference.py glue <tokenizer folder> <glue folder> <output.jsonl> <max_length>...
unicode: how the crate's BertNormalizer and BertPreTokenizer treat every Unicode scalar value, one
      line per code point: "<hex code point>\t<hex code points of its normalised form>\t<n>", where n
      is the number of pieces "a<char>a" pre-tokenises into (1: word character, 2: whitespace,
      3: punctuation). Usage: bert_tokenizer_reference.py unicode <output> [keep-accents]
"""
import json
import os
import sys

# Text columns of each task: header names, or indices for CoLA, whose files have no header.
TASKS = {
    "MRPC": {"columns": ["#1 String", "#2 String"]},
    "SST-2": {"columns": ["sentence"]},
    "RTE": {"columns": ["sentence1", "sentence2"]},
    "STS-B": {"columns": ["sentence1", "sentence2"]},
    "CoLA": {"columns": [3], "no_header": True},
}


def strip_cr(line):
    return line[:-1] if line.endswith("\r") else line


def read_rows(path, task):
    # Split on "\n" only, as the TSV reader does: Python's splitlines() would also break on U+2028.
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    columns, first = task["columns"], 0
    if not task.get("no_header"):
        header = strip_cr(lines[0].lstrip("\ufeff")).split("\t")
        columns = [header.index(name) for name in task["columns"]]
        first = 1
    rows = []
    for i in range(first, len(lines)):
        fields = strip_cr(lines[i]).split("\t")
        rows.append((i + 1, fields[columns[0]], fields[columns[1]] if len(columns) > 1 else None))
    return rows


def glue(tokenizer_folder, glue_folder, output, *max_lengths):
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast.from_pretrained(tokenizer_folder)
    with open(output, "w", encoding="utf-8") as out:
        for name, task in TASKS.items():
            for split in ("train.tsv", "dev.tsv"):
                source = f"{name}/{split}"
                rows = read_rows(os.path.join(glue_folder, source), task)
                texts_a = [r[1] for r in rows]
                pair = rows and rows[0][2] is not None
                texts_b = [r[2] for r in rows] if pair else None
                per_length = [
                    tokenizer(texts_a, texts_b, truncation="longest_first", max_length=int(m))
                    for m in max_lengths
                ]
                decoded = [tokenizer.batch_decode(e["input_ids"], skip_special_tokens=True) for e in per_length]
                for i, (row, text_a, text_b) in enumerate(rows):
                    encodings = [
                        {
                            "max_length": int(m),
                            "input_ids": per_length[k]["input_ids"][i],
                            "token_type_ids": per_length[k]["token_type_ids"][i],
                            "decoded": decoded[k][i],
                        }
                        for k, m in enumerate(max_lengths)
                    ]
                    out.write(json.dumps({"source": source, "row": row, "text_a": text_a,
                                          "text_b": text_b, "encodings": encodings}) + "\n")


def unicode(output, mode=""):
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    normalizer = BertNormalizer(strip_accents=False) if mode == "keep-accents" else BertNormalizer()
    pre_tokenizer = BertPreTokenizer()
    lines = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        normalized = " ".join(f"{ord(c):x}" for c in normalizer.normalize_str(char))
        pieces = len(pre_tokenizer.pre_tokenize_str(f"a{char}a"))
        lines.append(f"{code:x}\t{normalized}\t{pieces}")
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"glue": glue, "unicode": unicode}[command](*arguments)
