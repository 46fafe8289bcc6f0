// The anchor for bench_tokenizer: the Rust tokenizer (Node binding) on the SST-2 training sentences,
// without special tokens, one sentence at a time (one core) and as one batch.
// Usage: RAYON_NUM_THREADS=1 node bench_tokenizer.js <shared data folder>
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

async function main() {
  const shared = process.argv[2];
  const tokenizer = Tokenizer.fromFile(path.join(shared, 'vocab/bert-base-uncased/tokenizer.json'));
  const lines = fs.readFileSync(path.join(shared, 'glue/SST-2/train.tsv'), 'utf8').split('\n').slice(1);
  const sentences = lines.filter((line) => line !== '').map((line) => line.split('\t')[0]);
  const options = { addSpecialTokens: false };

  let start = process.hrtime.bigint();
  let tokens = 0;
  for (const sentence of sentences) tokens += (await tokenizer.encode(sentence, null, options)).getIds().length;
  let seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`one at a time: rows ${sentences.length} tokens ${tokens} ${seconds.toFixed(3)} s ` +
              `tokens/s ${(tokens / seconds / 1e6).toFixed(2)}M rows/s ${(sentences.length / seconds / 1e3).toFixed(0)}k`);

  start = process.hrtime.bigint();
  const encodings = await tokenizer.encodeBatch(sentences, options);
  tokens = encodings.reduce((sum, encoding) => sum + encoding.getIds().length, 0);
  seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`encodeBatch:   rows ${sentences.length} tokens ${tokens} ${seconds.toFixed(3)} s ` +
              `tokens/s ${(tokens / seconds / 1e6).toFixed(2)}M rows/s ${(sentences.length / seconds / 1e3).toFixed(0)}k`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
