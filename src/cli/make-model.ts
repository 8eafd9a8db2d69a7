/** `infoprune make-model`: writes a random-weight llama GGUF of a preset or custom shape. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InfopruneError } from '../errors.js';
import {
  MODEL_PRESET_NAMES,
  MODEL_PRESETS,
  type ModelPresetName,
  type RandomModelResult,
  type RandomModelShape,
  resolveModelShape,
  writeRandomModel,
} from '../gguf/random-model.js';
import { checkReplaceable } from '../scores/output-safety.js';
import { formatBytes, formatCount } from '../util/format.js';
import { MAKE_MODEL_FLAGS, optionsFromFlags, withFlagWording } from './flags.js';

const MAKE_MODEL_DEFAULTS = Object.freeze({ preset: 'tiny' as ModelPresetName, seed: 0 });

function describePresets(): string {
  return MODEL_PRESET_NAMES.map((name) => {
    const s: RandomModelShape = MODEL_PRESETS[name];
    return (
      `  ${name.padEnd(18)} layers ${s.layers}, embedding ${s.embedding}, heads ${s.heads}/${s.kvHeads} kv, ` +
      `feed-forward ${s.feedForward}, vocab ${s.vocabularySize}, context ${s.contextLength}` +
      (s.tiedEmbeddings ? ', tied embeddings' : '')
    );
  }).join('\n');
}

/** The preset's shape with the options given explicitly; the model written; what was written, in a few lines. */
function runMakeModel(out: string, flags: Record<string, unknown>): void {
  const type = typeof flags.type === 'string' ? flags.type.toLowerCase() : flags.type;
  const { preset, seed, name, ...overrides } = optionsFromFlags(MAKE_MODEL_FLAGS, { ...flags, type });
  const shape = resolveModelShape({
    ...resolveModelShape(preset as ModelPresetName),
    ...overrides,
  } as RandomModelShape);
  const path = resolve(out);
  checkModelOutput(path);
  const showProgress = flags.progress !== false && process.stderr.isTTY === true;
  let lastPercent = -1;
  const started = performance.now();
  const result = writeRandomModel(path, shape, {
    seed: seed as number,
    name: name as string | undefined,
    onProgress: showProgress
      ? (written, total) => {
          const percent = Math.floor((written / total) * 100);
          if (percent !== lastPercent) {
            lastPercent = percent;
            process.stderr.write(`\rwriting ${path}: ${percent}%`);
          }
        }
      : undefined,
  });
  if (showProgress) process.stderr.write('\r\x1b[K');
  // On stderr, like every summary and progress line: stdout is for data.
  process.stderr.write(describeWritten(result, preset as string, (performance.now() - started) / 1000));
}

/** The path is free, or a GGUF file to replace: never a folder, device, FIFO or link, nor a file of other data. */
function checkModelOutput(path: string): void {
  try {
    if (statSync(path).isDirectory()) {
      throw new InfopruneError('OUTPUT_NOT_WRITABLE', `Output path is a directory: ${path}`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  checkReplaceable(path);
  const fd = openSync(path, 'r');
  const magic = Buffer.alloc(4);
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.toString('latin1') !== 'GGUF') {
    throw new InfopruneError('OUTPUT_EXISTS', `${path} exists and is not a GGUF file: refusing to replace it`);
  }
}

function describeWritten(result: RandomModelResult, preset: string, seconds: number): string {
  const s = result.shape;
  return (
    `Wrote ${result.path}\n` +
    `  ${result.name}: llama, base preset ${preset}, ${s.tensorType}, seed ${result.seed}\n` +
    `  layers ${s.layers}, embedding ${s.embedding}, heads ${s.heads} (kv ${s.kvHeads}), feed-forward ${s.feedForward}, ` +
    `vocabulary ${s.vocabularySize}, context ${s.contextLength}, ` +
    `${s.tiedEmbeddings ? 'tied' : 'separate'} output embeddings, add BOS ${s.addBos}\n` +
    `  ${formatCount(result.parameterCount)} parameters in ${result.tensorCount} tensors, ` +
    `${formatCount(result.bytes)} bytes (${formatBytes(result.bytes)}), written in ${seconds.toFixed(1)} s\n`
  );
}

export function registerMakeModelCommand(program: Command): void {
  program
    .command('make-model')
    .description(
      'Write a llama-architecture GGUF model with random weights and a synthetic SentencePiece vocabulary ' +
        '(byte fallback, so any UTF-8 text tokenizes), for tests of mechanics and throughput benchmarks at ' +
        'realistic shapes. The same shape and seed always give identical bytes.',
    )
    .argument('<out.gguf>', 'path of the GGUF file to write (replaced atomically if it exists)')
    .option('--preset <name>', `base shape, one of: ${MODEL_PRESET_NAMES.join(', ')}`, MAKE_MODEL_DEFAULTS.preset)
    .option('--layers <n>', 'number of transformer blocks')
    .option('--embedding <n>', 'model width (n_embd)')
    .option('--heads <n>', 'attention heads (must divide --embedding, even head size)')
    .option('--kv-heads <n>', 'key/value heads (must divide --heads)')
    .option('--feed-forward <n>', 'feed-forward width')
    .option('--vocab <n>', 'vocabulary size (>= 300)')
    .option('--context <n>', 'context length written to the header')
    .option('--type <type>', 'storage type of weight matrices: f32, f16, q8_0 or q4_k (random quants) (default f32)')
    .option('--no-bos', 'do not ask for a BOS token (tokenizer.ggml.add_bos_token = false)')
    .option('--tied-embeddings', 'omit output.weight: the output layer reuses token_embd.weight')
    .option('--no-tied-embeddings', 'write a separate output.weight even if the preset ties embeddings')
    .option('--seed <n>', 'random seed, 0 to 4294967295', String(MAKE_MODEL_DEFAULTS.seed))
    .option('--name <name>', 'general.name (default random-llama-<layers>x<embedding>)')
    .option('--no-progress', 'no progress display on stderr')
    .addHelpText(
      'after',
      `\nPresets (options given explicitly override the preset's values):\n${describePresets()}\n\n` +
        'Examples:\n' +
        '  infoprune make-model tiny.gguf\n' +
        '  infoprune make-model smollm2.gguf --preset smollm2-135m --type f16 --seed 7\n' +
        '  infoprune make-model custom.gguf --layers 4 --embedding 128 --heads 8 --kv-heads 2 --feed-forward 384 --vocab 4096\n',
    )
    .action(withFlagWording(MAKE_MODEL_FLAGS, runMakeModel));
}
