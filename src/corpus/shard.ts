/**
 * Sharding: N processes (GPUs, machines) each score the documents of one shard, and together every document once.
 * A document's shard is a hash of its position (input key, line), so it is known before the record is even parsed
 * (a shard parses and tokenizes only its own documents) and it is the same on every machine.
 */

import { InvalidOptionError } from '../errors.js';
import { fmix32, fnv1a, fnv1aByte } from '../util/hash.js';
import { expectInteger, expectPositiveInteger, invalidParameterError } from '../util/validate.js';

export interface ShardSpec {
  /** 0-based shard index, below `count`. */
  index: number;
  count: number;
}

/** Parses `--shard i/N` (`0/3`, `2/3`). */
export function parseShard(value: unknown): ShardSpec {
  const match = typeof value === 'string' ? /^(\d+)\/(\d+)$/.exec(value.trim()) : null;
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count || !Number.isSafeInteger(count)) {
    throw invalidParameterError('shard', 'i/N with 0 <= i < N (for example 0/4), auto or auto/N', value);
  }
  return { index, count };
}

/** The launcher environment variables `auto` reads. */
export type LauncherEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * A shard given as `'i/N'`, `{ index, count }`, or `'auto'` / `'auto/N'`: taken from the launcher's environment
 * (Slurm job arrays, Kubernetes Indexed Jobs; see `shardFromLauncher`). Checked.
 */
export function resolveShard(value: ShardSpec | string, env: LauncherEnvironment = process.env): ShardSpec {
  if (typeof value === 'string') {
    const auto = /^auto(?:\/(\d+))?$/.exec(value.trim());
    if (auto) return shardFromLauncher(auto[1] === undefined ? undefined : Number(auto[1]), env);
    return parseShard(value);
  }
  const count = expectPositiveInteger('shard.count', value?.count);
  return { index: expectInteger('shard.index', value.index, 0, count - 1), count };
}

/** Whether the shard option asks for the launcher's index (`auto`, `auto/N`). */
export function isAutoShard(value: unknown): boolean {
  return typeof value === 'string' && /^auto(\/\d+)?$/.test(value.trim());
}

/**
 * The shard of this process from its launcher:
 * - Slurm job array: index from `SLURM_ARRAY_TASK_ID`, counted from `SLURM_ARRAY_TASK_MIN` in steps of
 *   `SLURM_ARRAY_TASK_STEP`; count `SLURM_ARRAY_TASK_COUNT`, else (max − min) / step + 1;
 * - Kubernetes Indexed Job: index `JOB_COMPLETION_INDEX`; the pod is not told the number of completions, so it is
 *   passed once as `auto/N`.
 * `count` (from `auto/N`) must agree with what Slurm says.
 */
export function shardFromLauncher(count: number | undefined, env: LauncherEnvironment): ShardSpec {
  const integer = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (!/^\d+$/.test(text.trim())) throw invalidParameterError(`shard (${name})`, 'non-negative integer', text);
    return Number(text);
  };
  const given = count === undefined ? undefined : expectPositiveInteger('shard count', count);
  const slurmTask = integer('SLURM_ARRAY_TASK_ID');
  if (slurmTask !== undefined) {
    const min = integer('SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = Math.max(1, integer('SLURM_ARRAY_TASK_STEP') ?? 1);
    const max = integer('SLURM_ARRAY_TASK_MAX');
    const counted = integer('SLURM_ARRAY_TASK_COUNT') ?? (max === undefined ? undefined : (max - min) / step + 1);
    const total = given ?? counted;
    if (total === undefined) {
      throw new InvalidOptionError(
        'shard',
        (name) =>
          `${name('shard')} auto found SLURM_ARRAY_TASK_ID but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: pass the count as auto/N`,
      );
    }
    if (given !== undefined && counted !== undefined && given !== counted) {
      throw new InvalidOptionError(
        'shard',
        (name) => `${name('shard')} auto/${given} disagrees with the Slurm array, which has ${counted} tasks`,
      );
    }
    return checkedShard((slurmTask - min) / step, total, 'SLURM_ARRAY_TASK_ID');
  }
  const completion = integer('JOB_COMPLETION_INDEX');
  if (completion !== undefined) {
    if (given === undefined) {
      throw new InvalidOptionError(
        'shard',
        (name) =>
          `${name('shard')} auto found JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), which does not tell the number of completions: pass it as auto/N`,
      );
    }
    return checkedShard(completion, given, 'JOB_COMPLETION_INDEX');
  }
  throw new InvalidOptionError(
    'shard',
    (name) =>
      `${name('shard')} auto needs a launcher's shard index: SLURM_ARRAY_TASK_ID (Slurm job arrays) or JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) is not set; pass i/N instead`,
  );
}

function checkedShard(index: number, count: number, variable: string): ShardSpec {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new InvalidOptionError(
      'shard',
      (name) => `${name('shard')} auto: ${variable} gives shard index ${index}, outside 0 to ${count - 1}`,
    );
  }
  return { index, count };
}

/** `00003-of-00008`: a shard in file names (sorted names list the shards in order). */
export function shardFileTag(shard: ShardSpec): string {
  const width = Math.max(5, String(shard.count - 1).length);
  return `${String(shard.index).padStart(width, '0')}-of-${String(shard.count).padStart(width, '0')}`;
}

export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/** The shard (0..count-1) of the document at `line` of the input with this key. */
export function shardOf(key: string, line: number, count: number): number {
  if (count === 1) return 0;
  // FNV-1a over the key, a newline and the line's 7 low bytes, then murmur3's finaliser so that consecutive lines
  // spread evenly mod N.
  let hash = fnv1aByte(fnv1a(key), 0x0a);
  let rest = line;
  for (let i = 0; i < 7; i++) {
    hash = fnv1aByte(hash, rest & 0xff);
    rest = Math.floor(rest / 256);
  }
  return fmix32(hash) % count;
}

/** Whether this process scores the document at (key, line). */
export function inShard(shard: ShardSpec | undefined, key: string, line: number): boolean {
  return shard === undefined || shard.count === 1 || shardOf(key, line, shard.count) === shard.index;
}
