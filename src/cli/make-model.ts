/** `infoprune make-model`: writes a random-weight llama GGUF of a preset or custom shape. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  MODEL_PRESET_NAMES,
  MODEL_PRESETS,
  type ModelPresetName,
  type RandomModelShape,
  type ResolvedModelShape,
  resolveModelShape,
  writeRandomModel,
} from '../gguf/random-model.js';
import { expectInteger, expectOneOf, invalidParameterError } from '../validate.js';

interface MakeModelCliOptions {
  preset: string;
  layers?: string;
  embedding?: string;
  heads?: string;
  kvHeads?: string;
  feedForward?: string;
  vocab?: string;
  context?: string;
  type?: string;
  bos: boolean;
  tiedEmbeddings?: boolean;
  seed: string;
  name?: string;
  progress: boolean;
}

/** Shape field -> CLI flag, so validation messages name what the user typed. */
const FLAG_FOR_FIELD: Record<string, string> = {
  layers: '--layers',
  embedding: '--embedding',
  heads: '--heads',
  kvHeads: '--kv-heads',
  feedForward: '--feed-forward',
  vocabularySize: '--vocab',
  contextLength: '--context',
  tensorType: '--type',
  seed: '--seed',
  name: '--name',
};

function parseIntegerOption(flag: string, text: string, min: number, max?: number): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) {
    throw invalidParameterError(
      flag,
      min === 0 ? 'non-negative integer' : min === 1 ? 'positive integer' : `integer >= ${min}`,
      text,
    );
  }
  return expectInteger(flag, Number(trimmed), min, max);
}

function renameFieldsToFlags(error: unknown): unknown {
  if (!(error instanceof TypeError)) return error;
  const renamed = error.message.replace(/ for (\w+) but received /, (match, field: string) =>
    FLAG_FOR_FIELD[field] ? ` for ${FLAG_FOR_FIELD[field]} but received ` : match,
  );
  return renamed === error.message ? error : new TypeError(renamed);
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

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

export function runMakeModel(out: string, options: MakeModelCliOptions): void {
  const preset = expectOneOf('--preset', options.preset, MODEL_PRESET_NAMES) as ModelPresetName;
  const base: RandomModelShape = { ...MODEL_PRESETS[preset] };
  const overrides: Array<[keyof RandomModelShape, string | undefined, number]> = [
    ['layers', options.layers, 1],
    ['embedding', options.embedding, 1],
    ['heads', options.heads, 1],
    ['kvHeads', options.kvHeads, 1],
    ['feedForward', options.feedForward, 1],
    ['vocabularySize', options.vocab, 1],
    ['contextLength', options.context, 1],
  ];
  const shape: Record<string, unknown> = { ...base };
  for (const [field, text, min] of overrides) {
    if (text !== undefined) shape[field] = parseIntegerOption(FLAG_FOR_FIELD[field], text, min);
  }
  if (options.type !== undefined)
    shape.tensorType = expectOneOf('--type', options.type.toLowerCase(), ['f32', 'f16'] as const);
  shape.addBos = options.bos;
  if (options.tiedEmbeddings !== undefined) shape.tiedEmbeddings = options.tiedEmbeddings;
  const seed = parseIntegerOption('--seed', options.seed, 0, 0xffffffff);

  let resolved: ResolvedModelShape;
  try {
    resolved = resolveModelShape(shape as unknown as RandomModelShape);
  } catch (error) {
    throw renameFieldsToFlags(error);
  }
  const path = resolve(out);
  try {
    if (statSync(path).isDirectory()) throw new Error(`Output path is a directory: ${path}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }

  const showProgress = options.progress && process.stderr.isTTY === true;
  let lastPercent = -1;
  const started = performance.now();
  const result = writeRandomModel(path, resolved, {
    seed,
    name: options.name,
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
  const seconds = (performance.now() - started) / 1000;
  const s = result.shape;
  process.stdout.write(
    `Wrote ${result.path}\n` +
      `  ${result.name}: llama, base preset ${preset}, ${s.tensorType}, seed ${result.seed}\n` +
      `  layers ${s.layers}, embedding ${s.embedding}, heads ${s.heads} (kv ${s.kvHeads}), feed-forward ${s.feedForward}, ` +
      `vocabulary ${s.vocabularySize}, context ${s.contextLength}, ` +
      `${s.tiedEmbeddings ? 'tied' : 'separate'} output embeddings, add BOS ${s.addBos}\n` +
      `  ${formatCount(result.parameterCount)} parameters in ${result.tensorCount} tensors, ` +
      `${formatCount(result.bytes)} bytes (${formatBytes(result.bytes)}), written in ${seconds.toFixed(1)} s\n`,
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
    .option('--preset <name>', `base shape, one of: ${MODEL_PRESET_NAMES.join(', ')}`, 'tiny')
    .option('--layers <n>', 'number of transformer blocks')
    .option('--embedding <n>', 'model width (n_embd)')
    .option('--heads <n>', 'attention heads (must divide --embedding, even head size)')
    .option('--kv-heads <n>', 'key/value heads (must divide --heads)')
    .option('--feed-forward <n>', 'feed-forward width')
    .option('--vocab <n>', 'vocabulary size (>= 300)')
    .option('--context <n>', 'context length written to the header')
    .option('--type <type>', 'storage type of weight matrices: f32 or f16 (default f32)')
    .option('--no-bos', 'do not ask for a BOS token (tokenizer.ggml.add_bos_token = false)')
    .option('--tied-embeddings', 'omit output.weight: the output layer reuses token_embd.weight')
    .option('--no-tied-embeddings', 'write a separate output.weight even if the preset ties embeddings')
    .option('--seed <n>', 'random seed, 0 to 4294967295', '0')
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
    .action((out: string, options: MakeModelCliOptions) => runMakeModel(out, options));
}
