/**
 * The command line's one translation layer between flags and API options. Each command's table below maps an API
 * option to its flag and the flag's type. `optionsFromFlags` turns flag text into typed option values (the flag's
 * type is the CLI's to check, its range the library's), and `withFlagWording` rewords the library's errors with
 * the flag names (`Expected ... for --context`, `pass --resume`): every infoprune error names its options through
 * `reword()` (src/errors.ts), so no message is pattern-matched.
 */
import { InfopruneError, InvalidOptionError, isInfopruneError } from '../errors.js';
import { describeValue } from '../util/validate.js';

export interface FlagSpec {
  /** The flag as typed: `--context`. */
  flag: string;
  /** What the text becomes: a string (default), an integer of at least `min`, or a number. */
  type?: 'string' | 'integer' | 'number' | 'boolean';
  min?: number;
  /** Words a numeric flag also accepts, passed on as they are (`max` for --gpu-layers). */
  words?: readonly string[];
  /** The option is the flag's value times this (`--checkpoint-every` seconds → checkpointIntervalMs). */
  scale?: number;
}

/** API option → flag. */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

const READING_FLAGS = {
  textField: { flag: '--text-field' },
  idField: { flag: '--id-field' },
  textMode: { flag: '--text-mode' },
  format: { flag: '--format' },
} as const satisfies FlagTable;

export const SCORE_FLAGS = {
  ...READING_FLAGS,
  model: { flag: '--model' },
  out: { flag: '--out' },
  // Without --model, the probe's training options (trainProbe's names, so its errors name these flags).
  shape: { flag: '--probe-shape' },
  budgetTokens: { flag: '--probe-budget' },
  budgetSeconds: { flag: '--probe-budget' },
  patience: { flag: '--probe-patience', type: 'integer', min: 0 },
  contextSize: { flag: '--context', type: 'integer', min: 1 },
  stride: { flag: '--stride', type: 'integer', min: 1 },
  batchSize: { flag: '--batch', type: 'integer', min: 1 },
  threads: { flag: '--threads', type: 'integer', min: 1 },
  forceThreads: { flag: '--force-threads', type: 'boolean' },
  gpuLayers: { flag: '--gpu-layers', type: 'integer', min: 0, words: ['max'] },
  flashAttention: { flag: '--flash-attention', type: 'boolean' },
  workers: { flag: '--workers', type: 'integer', min: 0 },
  shard: { flag: '--shard' },
  resume: { flag: '--resume', type: 'boolean' },
  overwrite: { flag: '--overwrite', type: 'boolean' },
  maxDocumentBytes: { flag: '--max-document-bytes', type: 'integer', min: 1 },
  wordBuckets: { flag: '--word-buckets', type: 'integer', min: 1 },
  checkpointIntervalMs: { flag: '--checkpoint-every', type: 'integer', min: 0, scale: 1000 },
  maxErrorRate: { flag: '--max-error-rate', type: 'number' },
  tokenLogprobs: { flag: '--token-logprobs', type: 'boolean' },
  cache: { flag: '--cache' },
  annotate: { flag: '--annotate' },
  annotateKey: { flag: '--annotate-key' },
  dedupEntries: { flag: '--dedup-entries', type: 'integer', min: 0 },
  verbose: { flag: '--verbose', type: 'boolean' },
} as const satisfies FlagTable;

export const PRUNE_FLAGS = {
  ...READING_FLAGS,
  inputs: { flag: '--input' },
  out: { flag: '--out' },
  scores: { flag: '--scores' },
  wordFrequencies: { flag: '--words' },
  pruneRatio: { flag: '--prune-ratio', type: 'number' },
  keepRatio: { flag: '--keep-ratio', type: 'number' },
  keepTokens: { flag: '--keep-tokens', type: 'integer', min: 1 },
  metric: { flag: '--metric' },
  strategy: { flag: '--strategy' },
  seed: { flag: '--seed', type: 'integer', min: 0 },
  min: { flag: '--min', type: 'number' },
  max: { flag: '--max', type: 'number' },
  band: { flag: '--band' },
  groupField: { flag: '--group-field' },
  perGroup: { flag: '--per-group', type: 'boolean' },
  dryRun: { flag: '--dry-run', type: 'boolean' },
} as const satisfies FlagTable;

export const TRAIN_FLAGS = {
  ...READING_FLAGS,
  out: { flag: '--out' },
  shape: { flag: '--shape' },
  budgetTokens: { flag: '--budget' },
  budgetSeconds: { flag: '--budget' },
  patience: { flag: '--patience', type: 'integer', min: 0 },
  sample: { flag: '--sample', type: 'number' },
  heldout: { flag: '--heldout' },
  seed: { flag: '--seed', type: 'integer', min: 0 },
  threads: { flag: '--threads', type: 'integer', min: 1 },
  gpuLayers: { flag: '--gpu-layers', type: 'integer', min: 0, words: ['max'] },
  overwrite: { flag: '--overwrite', type: 'boolean' },
  verbose: { flag: '--verbose', type: 'boolean' },
} as const satisfies FlagTable;

export const ANNOTATE_FLAGS = {
  out: { flag: '--out' },
  key: { flag: '--key' },
} as const satisfies FlagTable;

export const EXPERIMENT_FLAGS = {
  ...READING_FLAGS,
  out: { flag: '--out' },
  heldout: { flag: '--heldout' },
  model: { flag: '--model' },
  strategies: { flag: '--strategies' },
  pruneRatios: { flag: '--ratios' },
  pruneBy: { flag: '--prune-by' },
  regimes: { flag: '--regimes' },
  seeds: { flag: '--seeds', type: 'integer', min: 1 },
  shape: { flag: '--shape' },
  budgetTokens: { flag: '--budget' },
  poolBytes: { flag: '--pool-bytes', type: 'integer', min: 1 },
  heldoutBytes: { flag: '--heldout-bytes', type: 'integer', min: 1 },
  probeShape: { flag: '--probe-shape' },
  probeBudgetTokens: { flag: '--probe-budget' },
  quick: { flag: '--quick', type: 'boolean' },
  keepModels: { flag: '--keep-models', type: 'boolean' },
  overwrite: { flag: '--overwrite', type: 'boolean' },
  threads: { flag: '--threads', type: 'integer', min: 1 },
} as const satisfies FlagTable;

export const MERGE_FLAGS = {
  out: { flag: '--out' },
} as const satisfies FlagTable;

export const MAKE_MODEL_FLAGS = {
  preset: { flag: '--preset' },
  layers: { flag: '--layers', type: 'integer', min: 1 },
  embedding: { flag: '--embedding', type: 'integer', min: 1 },
  heads: { flag: '--heads', type: 'integer', min: 1 },
  kvHeads: { flag: '--kv-heads', type: 'integer', min: 1 },
  feedForward: { flag: '--feed-forward', type: 'integer', min: 1 },
  vocabularySize: { flag: '--vocab', type: 'integer', min: 1 },
  contextLength: { flag: '--context', type: 'integer', min: 1 },
  tensorType: { flag: '--type' },
  addBos: { flag: '--bos', type: 'boolean' },
  tiedEmbeddings: { flag: '--tied-embeddings', type: 'boolean' },
  seed: { flag: '--seed', type: 'integer', min: 0 },
  name: { flag: '--name' },
} as const satisfies FlagTable;

/** commander's key for a flag's value: `--gpu-layers` → `gpuLayers`. */
function valueKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The options the flags give (absent flags left out), each value parsed to its flag's type. */
export function optionsFromFlags(table: FlagTable, values: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [option, spec] of Object.entries(table)) {
    const value = values[valueKey(spec.flag)];
    if (value !== undefined) options[option] = parseFlagValue(spec, value);
  }
  return options;
}

function parseFlagValue(spec: FlagSpec, value: unknown): unknown {
  if (typeof value !== 'string' || (spec.type !== 'integer' && spec.type !== 'number')) return value;
  if (spec.words?.includes(value)) return value;
  const text = value.trim();
  const number = Number(text);
  if (spec.type === 'integer' ? !/^[+-]?\d+$/.test(text) : text === '' || !Number.isFinite(number)) {
    throw flagTypeError(spec, value);
  }
  if (spec.min !== undefined && number < spec.min) throw flagTypeError(spec, number);
  return number * (spec.scale ?? 1);
}

function flagTypeError(spec: FlagSpec, received: unknown): InvalidOptionError {
  const kind =
    spec.type === 'number'
      ? 'number'
      : spec.min === 1
        ? 'positive integer'
        : spec.min === 0
          ? 'non-negative integer'
          : 'integer';
  const expected = spec.words ? `${kind} or ${spec.words.join(', ')}` : kind;
  return new InvalidOptionError(
    spec.flag,
    `Expected ${expected} for ${spec.flag} but received ${describeValue(received)}`,
    {
      expected,
      received,
    },
  );
}

/** The error as the command line says it: options named by their flags (other errors unchanged). */
export function toFlagWording(error: unknown, table: FlagTable): unknown {
  if (!isInfopruneError(error)) return error;
  const flagOf = (option: string): string => (table as Record<string, FlagSpec | undefined>)[option]?.flag ?? option;
  let message = error.reword(flagOf);
  if (error instanceof InvalidOptionError) {
    const scale = (table as Record<string, FlagSpec | undefined>)[error.option]?.scale;
    if (scale !== undefined && error.expected !== undefined && typeof error.received === 'number') {
      message = `Expected ${error.expected} for ${flagOf(error.option)} but received ${describeValue(error.received / scale)}`;
    }
  }
  if (message === error.message) return error;
  if (error instanceof InvalidOptionError) {
    return new InvalidOptionError(error.option, message, { expected: error.expected, received: error.received });
  }
  return new InfopruneError(error.code, message, { cause: error });
}

/** A command's action whose errors are reworded with the command's flags. */
export function withFlagWording<A extends unknown[]>(
  table: FlagTable,
  action: (...args: A) => void | Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      throw toFlagWording(error, table);
    }
  };
}
