/**
 * Where the scorer's output path goes, for issue 9 item 4 (log-softmax and gather where the logits are): scores
 * random-token documents with one preset random model and prints tokens/s, the process's peak RSS and llama.cpp's own
 * buffer sizes (its output buffer holds vocabulary × 4 bytes per scored token; its compute buffer holds the logits
 * tensor again). Run it under `perf record` to get the share of time in the logits copy and the CPU log-softmax
 * (docs/benchmarks.md, "Logits on the backend", gives the commands and the figures). Not a test and not a bench row:
 * a probe to re-run when llama.cpp is upgraded.
 *
 *   npx tsc -p tsconfig.json && node dist/dev/logits-share.js --preset qwen2.5-0.5b-like --type f16 --batch 512
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { peakRssBytes } from '../bench/measure.js';
import { presetModel } from '../bench/models.js';
import { openScorer } from '../src/engine/scorer.js';
import { MODEL_PRESETS, type ModelPresetName, type ModelTensorType } from '../src/gguf/random-model.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'qwen2.5-0.5b-like' },
    type: { type: 'string', default: 'f16' },
    batch: { type: 'string', default: '512' },
    threads: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '4096' },
    verbose: { type: 'boolean', default: false },
  },
});
const preset = values.preset as ModelPresetName;
const shape = MODEL_PRESETS[preset];
if (!shape) throw new Error(`unknown preset ${values.preset}`);
const tensorType = values.type as ModelTensorType;

// Step 1: the model (the benchmark's cache, so both share one file per shape).
const root = join(import.meta.dirname, '..', '..');
const model = presetModel(root, preset, tensorType, (line) => console.log(line)).path;

// Step 2: documents of one full window each (511 text tokens + BOS at context 512), random ids past the byte tokens.
const contextSize = 512;
let seed = 12345;
const nextId = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return 259 + (seed % (shape.vocabularySize - 259));
};
const documentCount = Math.max(1, Math.round(Number(values.tokens) / contextSize));
const documents = Array.from({ length: documentCount }, () => ({
  tokens: Int32Array.from({ length: contextSize - 1 }, nextId),
  bytes: 4 * (contextSize - 1),
}));

// Step 3: one untimed call (first-decode allocations), then the timed one.
const scorer = await openScorer({
  model,
  contextSize,
  batchSize: Number(values.batch),
  threads: Number(values.threads),
  verbose: values.verbose,
});
await scorer.scoreTokens(documents.slice(0, 1));
const started = performance.now();
const results = await scorer.scoreTokens(documents);
const seconds = (performance.now() - started) / 1000;
const scored = results.reduce((sum, result) => sum + result.tokens, 0);
const logitsRowBytes = 4 * shape.vocabularySize;
console.log(
  JSON.stringify({
    preset,
    tensorType,
    vocabulary: shape.vocabularySize,
    batch: scorer.options.batchSize,
    threads: scorer.options.threads,
    scoredTokens: scored,
    seconds: Number(seconds.toFixed(3)),
    scoredTokensPerSecond: Math.round(scored / seconds),
    peakRssMiB: Math.round(peakRssBytes() / 2 ** 20),
    logitsMiBPerDecode: Math.round((scorer.options.batchSize * logitsRowBytes) / 2 ** 20),
  }),
);
await scorer.close();
