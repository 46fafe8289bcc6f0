// Writes how the Rust tokenizer's BertNormalizer and BertPreTokenizer treat every Unicode scalar
// value, one line per code point: "<hex code point>\t<hex code points of its normalised form>\t<n>",
// where n is the number of pieces "a<char>a" pre-tokenises into (1: word character, 2: whitespace,
// 3: punctuation). Usage: node unicode_reference.js <output> [keep-accents]
'use strict';
const fs = require('fs');
const { bertNormalizer, bertPreTokenizer } = require('tokenizers');

const [output, mode] = process.argv.slice(2);
const normalizer = bertNormalizer(mode === 'keep-accents' ? { stripAccents: false } : {});
const preTokenizer = bertPreTokenizer();
const lines = [];
for (let code = 0; code <= 0x10ffff; code++) {
  if (code >= 0xd800 && code <= 0xdfff) continue;
  const char = String.fromCodePoint(code);
  const normalized = Array.from(normalizer.normalizeString(char), (c) => c.codePointAt(0).toString(16)).join(' ');
  const pieces = preTokenizer.preTokenizeString(`a${char}a`).length;
  lines.push(`${code.toString(16)}\t${normalized}\t${pieces}`);
}
fs.writeFileSync(output, lines.join('\n') + '\n');
