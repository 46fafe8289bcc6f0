"""transformers as the reference for dtrain's translation task and `dtrain translate`.

random-model: a MarianMTModel with small random weights saved by transformers in opus-mt-en-fr's layout
              (config.json, model.safetensors, generation_config.json) plus a Marian tokenizer folder's files.
              Usage: marian_task_reference.py random-model <tokenizer folder> <output folder> <seed> [trainable]
              `trainable`: dropout 0 and transformers' own initialisation (the start of a training comparison).
loss:   teacher-forced loss of a model folder on a dtrain translation dataset, batch by batch in dataset
        order, as Seq2SeqTrainer computes it: DataCollatorForSeq2Seq(model=...) batches, MarianMTModel
        logits, cross-entropy over the labels (LabelSmoother when label_smoothing > 0) as a sum over the
        target tokens. Prints {"batches": [{"sum", "tokens"}...], "eval_loss": total sum / total tokens}.
        Usage: marian_task_reference.py loss <model folder> <dataset.h5> <batch size> <label_smoothing>
translate: generate() + batch_decode(skip_special_tokens=True) of the lines of a text file, in batches of
        the given size, with num_beams and max_length; prints one JSON list of translations.
        Usage: marian_task_reference.py translate <model folder> <lines file> <batch size> <num_beams> <max_length>
seq2seq-trainer: Seq2SeqTrainer.train() from a model folder on a dtrain translation dataset in dtrain's sample
        order (hf_trainer.py's sampler), DataCollatorForSeq2Seq batches, with any Seq2SeqTrainingArguments flags;
        writes OUTPUT/log_history.json and the final model.safetensors.
        Usage: marian_task_reference.py seq2seq-trainer <model folder> <dataset.h5> <output dir> [flags ...]
"""
import json
import os
import sys
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")


def random_model(tokenizer_folder, output, seed, weights="large"):
    import shutil

    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    torch.manual_seed(int(seed))
    tokenizer = MarianTokenizer.from_pretrained(tokenizer_folder)
    # opus-mt-en-fr's config.json with small shapes.
    config = MarianConfig(
        vocab_size=len(tokenizer), decoder_vocab_size=len(tokenizer), d_model=32, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=128, activation_function="swish", scale_embedding=True,
        pad_token_id=tokenizer.pad_token_id, decoder_start_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, forced_eos_token_id=tokenizer.eos_token_id,
        dropout=0.0 if weights == "trainable" else 0.1,
        attention_dropout=0.0, activation_dropout=0.0, share_encoder_decoder_embeddings=True,
        static_position_embeddings=True, normalize_embedding=False, max_length=32, num_beams=4,
        bad_words_ids=[[tokenizer.pad_token_id]])
    model = MarianMTModel(config)
    if weights != "trainable":
        # Random weights large enough that different inputs give different translations.
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "layer_norm" not in name:
                    parameter.normal_(0.0, 0.3)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)


def load_dataset(path):
    import h5py

    with h5py.File(path, "r") as f:
        offsets, label_offsets = f["offsets"][:], f["label_offsets"][:]
        input_ids, labels = f["input_ids"][:], f["labels"][:]
    return [(input_ids[offsets[i]:offsets[i + 1]].tolist(), labels[label_offsets[i]:label_offsets[i + 1]].tolist())
            for i in range(len(offsets) - 1)]


def loss(folder, dataset_path, batch_size, label_smoothing):
    import torch
    from transformers import DataCollatorForSeq2Seq, MarianMTModel, MarianTokenizer
    from transformers.trainer_pt_utils import LabelSmoother

    model = MarianMTModel.from_pretrained(folder).eval()
    tokenizer = MarianTokenizer.from_pretrained(folder)
    collator = DataCollatorForSeq2Seq(tokenizer, model=model)
    smoother = LabelSmoother(epsilon=float(label_smoothing)) if float(label_smoothing) > 0 else None
    samples = load_dataset(dataset_path)
    batches, total, tokens = [], 0.0, 0
    batch_size = int(batch_size)
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            features = [{"input_ids": s, "labels": t} for s, t in samples[start:start + batch_size]]
            batch = collator(features)
            outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            decoder_input_ids=batch["decoder_input_ids"])
            labels = batch["labels"]
            count = int((labels != -100).sum())
            if smoother is None:
                mean = torch.nn.functional.cross_entropy(outputs.logits.reshape(-1, outputs.logits.shape[-1]).double(),
                                                         labels.reshape(-1), ignore_index=-100)
            else:
                # LabelSmoother's mean over the batch's tokens (shift_labels=False for a seq2seq model).
                mean = smoother({"logits": outputs.logits.double()}, labels)
            batch_sum = float(mean) * count
            batches.append({"sum": batch_sum, "tokens": count})
            total += batch_sum
            tokens += count
    print(json.dumps({"batches": batches, "eval_loss": total / tokens}))


def translate(folder, lines_file, batch_size, num_beams, max_length):
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    model = MarianMTModel.from_pretrained(folder).eval()
    tokenizer = MarianTokenizer.from_pretrained(folder)
    with open(lines_file, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    outputs = []
    batch_size = int(batch_size)
    with torch.no_grad():
        for start in range(0, len(lines), batch_size):
            batch = tokenizer(lines[start:start + batch_size], return_tensors="pt", padding=True, truncation=True)
            generated = model.generate(**batch, num_beams=int(num_beams), max_length=int(max_length))
            outputs += tokenizer.batch_decode(generated, skip_special_tokens=True)
    print(json.dumps(outputs))


def seq2seq_trainer(folder, dataset_path, output_dir, *flags):
    import pathlib

    from transformers import (DataCollatorForSeq2Seq, HfArgumentParser, MarianMTModel, MarianTokenizer,
                              Seq2SeqTrainer, Seq2SeqTrainingArguments)
    from transformers.trainer_pt_utils import LabelSmoother

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from hf_trainer import DtrainOrderSampler

    (training,) = HfArgumentParser(Seq2SeqTrainingArguments).parse_args_into_dataclasses(
        args=["--output_dir", output_dir, "--use_cpu", "true", "--report_to", "none", "--save_strategy", "no",
              *flags])
    model = MarianMTModel.from_pretrained(folder)
    tokenizer = MarianTokenizer.from_pretrained(folder)
    samples = [{"input_ids": source, "labels": target} for source, target in load_dataset(dataset_path)]
    data_seed = training.data_seed if training.data_seed is not None else training.seed

    # The loss: dtrain divides a step's summed token losses by the target-token count of the whole
    # accumulated batch. MarianMTModel's forward takes **kwargs, so Trainer 5.17 counts that number
    # (num_items_in_batch) and stops dividing by gradient_accumulation_steps; but the model ignores it and
    # returns each micro-batch's mean (without label smoothing the loss and gradients come out
    # accumulation-steps times too large; with it, Trainer's LabelSmoother divides by num_items_in_batch).
    # A compute_loss_func makes the normalisation explicit for any label_smoothing_factor: Trainer's own
    # LabelSmoother (epsilon 0: plain cross-entropy) summed over the micro-batch's tokens and divided by
    # num_items_in_batch; Trainer then neither divides by the accumulation steps nor scales (one process).
    smoother = LabelSmoother(epsilon=training.label_smoothing_factor)

    def token_loss(outputs, labels, num_items_in_batch=None):
        return smoother(outputs, labels, num_items_in_batch=num_items_in_batch)

    class DtrainOrderTrainer(Seq2SeqTrainer):
        def _get_train_sampler(self, train_dataset=None):
            return DtrainOrderSampler(len(samples), data_seed)

    trainer = DtrainOrderTrainer(model=model, args=training, train_dataset=samples,
                                 data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                                 compute_loss_func=token_loss)
    trainer.train()
    output = pathlib.Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1) + "\n")
    trainer.save_model(str(output))


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"random-model": random_model, "loss": loss, "translate": translate,
     "seq2seq-trainer": seq2seq_trainer}[command](*arguments)
