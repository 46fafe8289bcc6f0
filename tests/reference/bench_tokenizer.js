// The anchor for bench_tokenizer: the Rust tokenizer (Node binding) on the SST-2 training sentences,
// without special tokens, one sentence at a time and as one batch; throughput from the process's
// CPU time (all threads: run with RAYON_NUM_THREADS=1) and from wall time.
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

  const report = (name, run) => async () => {
    const cpuStart = process.cpuUsage();
    const wallStart = process.hrtime.bigint();
    const tokens = await run();
    const cpu = process.cpuUsage(cpuStart);
    const clocks = { cpu: (cpu.user + cpu.system) / 1e6, wall: Number(process.hrtime.bigint() - wallStart) / 1e9 };
    console.log(`${name}: rows ${sentences.length} tokens ${tokens}`);
    for (const [clock, seconds] of Object.entries(clocks)) {
      console.log(`  ${clock}: ${seconds.toFixed(3)} s  tokens/s ${(tokens / seconds / 1e6).toFixed(2)}M  ` +
                  `rows/s ${(sentences.length / seconds / 1e3).toFixed(0)}k`);
    }
  };
  await report('one at a time', async () => {
    let tokens = 0;
    for (const sentence of sentences) tokens += (await tokenizer.encode(sentence, null, options)).getLength();
    return tokens;
  })();
  await report('encodeBatch', async () => {
    const encodings = await tokenizer.encodeBatch(sentences, options);
    return encodings.reduce((sum, encoding) => sum + encoding.getLength(), 0);
  })();
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
