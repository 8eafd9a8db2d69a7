/**
 * The files of one scoring run, named from its score file `<out>` in one place: `infoprune score` writes them,
 * `merge` combines them, `prune` reads the scores and the word table.
 */
import { basename, join, resolve } from 'node:path';
import { TEMPORARY_NAME } from '../util/files.js';
import { lockPathOf } from './output-safety.js';

export type ScoreFileFormat = 'jsonl' | 'parquet';

export interface ScoreFilePaths {
  /** One record per document: JSONL, or Parquet when the name ends in `.parquet`. */
  scores: string;
  /** `{"source","line","reason"}` per position that was not scored. */
  errors: string;
  /** The corpus word-frequency table (H(W,f)). */
  words: string;
  /** Written last: its presence says the files beside it are complete. */
  manifest: string;
  /** While the run is going: the records and errors as append logs, and the checkpoint. */
  partialScores: string;
  partialErrors: string;
  checkpoint: string;
  /** A shard's completion marker, written after the manifest: which run and shard finished (`merge <folder>` reads it). */
  done: string;
  /** Held (flock) by the run writing `out`. */
  lock: string;
  /** The probe trained for the run when no model was given (its training record beside it). */
  probe: string;
  /** With token log-probabilities: every scored document's token ids and ln p (src/scores/logprobs.ts), and the index. */
  tokenLogprobs: string;
  tokenIndex: string;
  partialTokenLogprobs: string;
  partialTokenIndex: string;
  /** While the run is going: the first occurrences of texts scored so far (what a resume reuses duplicates of). */
  partialDedup: string;
}

export function scoreFilePaths(out: string): ScoreFilePaths {
  return {
    scores: out,
    errors: `${out}.errors.jsonl`,
    words: `${out}.words.bin`,
    manifest: `${out}.manifest.json`,
    partialScores: `${out}.partial.jsonl`,
    partialErrors: `${out}.errors.jsonl.partial`,
    checkpoint: `${out}.checkpoint.json`,
    done: `${out}.done.json`,
    lock: lockPathOf(out),
    probe: `${out}.probe.gguf`,
    tokenLogprobs: `${out}.logprobs.bin`,
    tokenIndex: `${out}.logprobs.idx`,
    partialTokenLogprobs: `${out}.logprobs.bin.partial`,
    partialTokenIndex: `${out}.logprobs.idx.partial`,
    partialDedup: `${out}.dedup.partial`,
  };
}

/** The `{shard}` placeholder of a shard's `out`, replaced by `shardFileTag` (`00003-of-00008`). */
export const SHARD_PLACEHOLDER = '{shard}';

/**
 * The score file of one shard's run: `out` itself, or, when `out` is a folder (an existing one, or a name ending in
 * `/`), `<out>/shard-00003-of-00008.jsonl`, or `out` with `{shard}` replaced. Undefined when `out` names no place per
 * shard (a plain file name: every shard would write the same file).
 */
export function shardScoreFile(out: string, tag: string, isFolder: boolean): string | undefined {
  if (out.includes(SHARD_PLACEHOLDER)) return out.split(SHARD_PLACEHOLDER).join(tag);
  if (isFolder || /[/\\]$/.test(out)) return join(out, `shard-${tag}.jsonl`);
  return undefined;
}

/** The name (beside `out`) of the word table saved with checkpoint `generation`. */
export function wordsSnapshotName(out: string, generation: number): string {
  return `${wordsSnapshotPrefix(out)}${generation}`;
}

export function wordsSnapshotPrefix(out: string): string {
  return `${basename(out)}.checkpoint.words-`;
}

/** Parquet when the name ends in .parquet, else JSONL. */
export function scoreFileFormat(path: string): ScoreFileFormat {
  return path.toLowerCase().endsWith('.parquet') ? 'parquet' : 'jsonl';
}

/** What a file beside `out` is to the run writing `out`: one of its outputs, or its state while it runs. */
export type RunFileKind = 'output' | 'state';

/**
 * Which (absolute) paths are the run's own files, by their exact names: its outputs (`out`, its errors, word table,
 * manifest and token log-probabilities) and its state (append logs, checkpoint and its word snapshots, lock, temporaries of atomic writes).
 * Nothing else beside `out` is the run's, whatever its name (`corpus.jsonl.gz` beside `-o corpus.jsonl` is not).
 */
export function runFileKind(out: string): (absolutePath: string) => RunFileKind | undefined {
  const base = resolve(out);
  const paths = scoreFilePaths(base);
  const { scores, errors, words, manifest, done, probe, tokenLogprobs, tokenIndex } = paths;
  const outputs = new Set([scores, errors, words, manifest, done, probe, tokenLogprobs, tokenIndex]);
  const state = new Set([
    paths.partialScores,
    paths.partialErrors,
    paths.checkpoint,
    paths.lock,
    paths.partialTokenLogprobs,
    paths.partialTokenIndex,
    paths.partialDedup,
  ]);
  const snapshots = resolve(base, '..', wordsSnapshotPrefix(base));
  return (path) => {
    if (outputs.has(path)) return 'output';
    if (state.has(path)) return 'state';
    if (path.startsWith(snapshots) && /^\d+$/.test(path.slice(snapshots.length))) return 'state';
    if (path.startsWith(`${base}.`) && TEMPORARY_NAME.test(path)) return 'state';
    return undefined;
  };
}
