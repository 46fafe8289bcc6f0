// Writes the Hugging Face fast tokenizer's ids for every row of the GLUE train/dev files, one JSON
// object per row: {source, row, text_a, text_b (null for single sentences), encodings}, where
// encodings[i] = {max_length, input_ids, token_type_ids} for the i-th max_length argument.
// Usage: node glue_reference.js <tokenizer.json> <glue folder> <output.jsonl> <max_length>...
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

// Text columns of each task: header names, or indices for CoLA, whose files have no header.
const TASKS = {
  MRPC: { columns: ['#1 String', '#2 String'] },
  'SST-2': { columns: ['sentence'] },
  RTE: { columns: ['sentence1', 'sentence2'] },
  'STS-B': { columns: ['sentence1', 'sentence2'] },
  CoLA: { columns: [3], noHeader: true },
};

function readRows(file, task) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let columns = task.columns;
  let first = 0;
  if (!task.noHeader) {
    const header = lines[0].replace(/^\uFEFF/, '').replace(/\r$/, '').split('\t');
    columns = task.columns.map((name) => {
      const index = header.indexOf(name);
      if (index < 0) throw new Error(`${file}: no column '${name}'`);
      return index;
    });
    first = 1;
  }
  const rows = [];
  for (let i = first; i < lines.length; i++) {
    const fields = lines[i].replace(/\r$/, '').split('\t');
    rows.push({ row: i + 1, text_a: fields[columns[0]], text_b: columns.length > 1 ? fields[columns[1]] : null });
  }
  return rows;
}

async function main() {
  const [tokenizerFile, glueDir, outputFile, ...maxLengths] = process.argv.slice(2);
  // setTruncation configures a whole tokenizer, so there is one per max_length.
  const tokenizers = maxLengths.map(Number).map((maxLength) => {
    const tokenizer = Tokenizer.fromFile(tokenizerFile);
    tokenizer.setTruncation(maxLength);
    return { maxLength, tokenizer };
  });
  const out = fs.createWriteStream(outputFile);
  for (const [name, task] of Object.entries(TASKS)) {
    for (const split of ['train.tsv', 'dev.tsv']) {
      const source = `${name}/${split}`;
      const rows = readRows(path.join(glueDir, source), task);
      const perLength = await Promise.all(
        tokenizers.map(({ tokenizer }) => Promise.all(rows.map((r) => tokenizer.encode(r.text_a, r.text_b)))));
      rows.forEach((r, i) => {
        const encodings = tokenizers.map(({ maxLength }, k) => ({
          max_length: maxLength,
          input_ids: Array.from(perLength[k][i].getIds()),
          token_type_ids: Array.from(perLength[k][i].getTypeIds()),
        }));
        out.write(JSON.stringify({ source, row: r.row, text_a: r.text_a, text_b: r.text_b, encodings }) + '\n');
      });
    }
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
