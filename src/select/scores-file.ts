/**
 * Streaming a score file written by `infoprune score` (JSONL or Parquet, src/records.ts) with every record checked:
 * the reading itself is the pipeline's (src/pipeline/score-files.ts), the checks are selection's
 * (src/select/score-records.ts). Memory: one read chunk (JSONL) or one row group (Parquet).
 */
import { existsSync } from 'node:fs';
import { readScoreRecords } from '../pipeline/score-files.js';
import type { ScoreRecord } from '../records.js';
import { parseScoreRecord } from './score-records.js';

/** A score record with where it was read from, for error messages. */
export interface LocatedScoreRecord {
  record: ScoreRecord;
  /** `scores.jsonl record 12`. */
  where: string;
}

/** Streams a score file's records, each checked; throws on the first bad one, naming it. */
export async function* readScoreFile(path: string, signal?: AbortSignal): AsyncGenerator<LocatedScoreRecord> {
  if (!existsSync(path)) throw new Error(`Scores file not found: ${path}`);
  let n = 0;
  for await (const raw of readScoreRecords(path)) {
    if (++n % 65536 === 0) signal?.throwIfAborted();
    const where = `${path} record ${n}`;
    yield { record: parseScoreRecord(raw, `score record ${n} of ${path}`), where };
  }
}

/** `<scores>.words.bin`: where the scoring run writes the word-frequency table. */
export function wordFrequencyPathFor(scoresPath: string): string {
  return `${scoresPath}.words.bin`;
}
