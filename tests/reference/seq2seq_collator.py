"""transformers' DataCollatorForSeq2Seq on given samples, with a (tiny, randomly initialised)
MarianMTModel supplying decoder_input_ids the way Trainer runs it. Reads JSON
{"pad_id", "decoder_start_token_id", "vocab_size", "runs": [{"pad_to_multiple_of", "batches":
[[{"input_ids", "labels"}, ...], ...]}, ...]} and prints, per run, one JSON batch per input batch.
"""
import json
import sys

from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import DataCollatorForSeq2Seq, MarianConfig, MarianMTModel, PreTrainedTokenizerFast

spec = json.load(open(sys.argv[1]))
vocab = {f"t{i}": i for i in range(spec["vocab_size"])}
pad = f"t{spec['pad_id']}"
tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token=pad)), pad_token=pad)
assert tokenizer.pad_token_id == spec["pad_id"] and tokenizer.padding_side == "right"
config = MarianConfig(vocab_size=spec["vocab_size"], d_model=8, encoder_layers=1, decoder_layers=1,
                      encoder_attention_heads=1, decoder_attention_heads=1, encoder_ffn_dim=8,
                      decoder_ffn_dim=8, max_position_embeddings=512, pad_token_id=spec["pad_id"],
                      decoder_start_token_id=spec["decoder_start_token_id"])
model = MarianMTModel(config)
out = []
for run in spec["runs"]:
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, pad_to_multiple_of=run["pad_to_multiple_of"])
    batches = []
    for features in run["batches"]:
        batch = collator(features)
        names = ("input_ids", "attention_mask", "labels", "decoder_input_ids")
        batches.append({name: batch[name].tolist() for name in names})
    out.append(batches)
print(json.dumps(out))
