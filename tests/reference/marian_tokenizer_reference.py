"""transformers' MarianTokenizer as the reference for dtrain's Marian tokenizer.

corpus: every line of parallel text files through MarianTokenizer, one JSON object per line:
        {folder, source, line, input_ids, labels, decoded}: tokenizer(src, text_target=tgt, truncation=True,
        max_length=M) and batch_decode(labels, skip_special_tokens=True).
        Usage: marian_tokenizer_reference.py corpus <max_length> <output.jsonl>
                   --folder <tokenizer folder> <src file> <tgt file> [<src file> <tgt file> ...] [--folder ...]
texts:  the texts of a JSON list, each encoded as a source and as a target at max_length M, the labels
        decoded with and without skip_special_tokens: {folder, text, input_ids, labels, decoded,
        decoded_with_special}.
        Usage: marian_tokenizer_reference.py texts <max_length> <texts.json> <output.jsonl> <folder>...
        A folder written "SOURCE=>COPY" is first loaded from SOURCE and saved to COPY with save_pretrained,
        then used from COPY (a folder as transformers itself writes it).
For each folder, both first write {folder, vocab_size, length, pad, eos, unk, special_ids, auto_class}:
the tokenizer's vocab_size, len(tokenizer), special ids, and the class AutoTokenizer loads the folder as.
"""
import json
import os
import sys
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")  # "Recommended: pip install sacremoses." (transformers never uses it to encode)


def load(folder):
    from transformers import AutoTokenizer, MarianTokenizer

    tokenizer = MarianTokenizer.from_pretrained(folder)
    auto = AutoTokenizer.from_pretrained(folder)
    header = {
        "folder": folder,
        "vocab_size": tokenizer.vocab_size,
        "length": len(tokenizer),
        "pad": tokenizer.pad_token_id,
        "eos": tokenizer.eos_token_id,
        "unk": tokenizer.unk_token_id,
        "special_ids": tokenizer.all_special_ids,
        "auto_class": type(auto).__name__,
    }
    return tokenizer, header


def read_lines(path):
    # Split on "\n" only (str.splitlines() would also break on U+2028 and friends), drop a final "\r".
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def corpus(max_length, output, *arguments):
    jobs = []  # (folder, [(src, tgt), ...])
    for argument in arguments:
        if argument == "--folder":
            jobs.append([None, []])
        elif jobs[-1][0] is None:
            jobs[-1][0] = argument
        elif not jobs[-1][1] or len(jobs[-1][1][-1]) == 2:
            jobs[-1][1].append([argument])
        else:
            jobs[-1][1][-1].append(argument)
    with open(output, "w", encoding="utf-8") as out:
        for folder, pairs in jobs:
            tokenizer, header = load(folder)
            out.write(json.dumps(header) + "\n")
            for source_file, target_file in pairs:
                sources, targets = read_lines(source_file), read_lines(target_file)
                assert len(sources) == len(targets), (source_file, target_file)
                encoded = tokenizer(sources, text_target=targets, truncation=True, max_length=int(max_length))
                decoded = tokenizer.batch_decode(encoded["labels"], skip_special_tokens=True)
                name = os.path.basename(source_file)
                for i, (input_ids, labels) in enumerate(zip(encoded["input_ids"], encoded["labels"])):
                    out.write(json.dumps({"folder": folder, "source": name, "line": i + 1, "input_ids": input_ids,
                                          "labels": labels, "decoded": decoded[i]}) + "\n")


def texts(max_length, texts_file, output, *folders):
    with open(texts_file, encoding="utf-8") as f:
        items = json.load(f)
    with open(output, "w", encoding="utf-8") as out:
        for folder in folders:
            if "=>" in folder:
                from transformers import MarianTokenizer

                source, folder = folder.split("=>")
                MarianTokenizer.from_pretrained(source).save_pretrained(folder)
            tokenizer, header = load(folder)
            out.write(json.dumps(header) + "\n")
            for text in items:
                encoded = tokenizer(text, text_target=text, truncation=True, max_length=int(max_length))
                out.write(json.dumps({
                    "folder": folder,
                    "text": text,
                    "input_ids": encoded["input_ids"],
                    "labels": encoded["labels"],
                    "decoded": tokenizer.decode(encoded["labels"], skip_special_tokens=True),
                    "decoded_with_special": tokenizer.decode(encoded["labels"], skip_special_tokens=False),
                }) + "\n")


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"corpus": corpus, "texts": texts}[command](*arguments)
