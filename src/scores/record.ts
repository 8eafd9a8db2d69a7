/**
 * The score record: one per input document, written by `infoprune score` (JSONL or Parquet, same columns) and read
 * by `infoprune prune`. snake_case because it is a file format, not a JS API. Here: the record, how it is made from
 * a scored document, and its checks (every field the selection reads, so a NaN, a negative count or a missing id is
 * reported with the record it came from before anything is written).
 */
import type { ScoreResult } from '../engine/types.js';
import { InfopruneError, InvalidOptionError } from '../errors.js';
import { invalidParameterError } from '../util/validate.js';

export interface ScoreRecord {
  /** The document's id: its `--id-field` value, or `<source>:<line>` when the record has none. */
  id: string;
  /** The input file the document came from, as given on the command line (resolved to a path). */
  source: string;
  /** 1-based line (JSONL, text-per-line) or 0-based row (Parquet) or 0 (one document per text file). */
  line: number;
  /** Scored tokens (see the engine's BOS policy). */
  tokens: number;
  /** Sum of -ln p over scored tokens, nats. */
  nll: number;
  /** UTF-8 bytes of the text. */
  bytes: number;
  bits_per_token: number;
  bits_per_byte: number;
  perplexity: number;
  /** Words in the text, as `splitWords` (src/text/words.ts) counts them. */
  words: number;
}

/** Column order for every score file. */
export const SCORE_RECORD_COLUMNS = [
  'id',
  'source',
  'line',
  'tokens',
  'nll',
  'bytes',
  'bits_per_token',
  'bits_per_byte',
  'perplexity',
  'words',
] as const satisfies readonly (keyof ScoreRecord)[];

/** Largest line a record may have: lines fill one 32-bit word of the rank order's key (src/select/keys.ts). */
export const MAX_SCORE_LINE = 0xffffffff;

/** The record of a scored document, built in `SCORE_RECORD_COLUMNS` order (JSON.stringify keeps it). */
export function toScoreRecord(
  document: { id: string; source: string; line: number; bytes: number; wordBuckets: ArrayLike<number> },
  result: ScoreResult,
): ScoreRecord {
  return {
    id: document.id,
    source: document.source,
    line: document.line,
    tokens: result.tokens,
    nll: result.nll,
    bytes: document.bytes,
    bits_per_token: result.bitsPerToken,
    bits_per_byte: result.bitsPerByte,
    perplexity: result.perplexity,
    words: document.wordBuckets.length,
  };
}

/** A record as a line of a JSONL score file. */
export function scoreRecordLine(record: ScoreRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Identity of a document: what joins scores to the corpus and breaks ties. */
export interface DocumentIdentity {
  id: string;
  source: string;
  line: number;
}

export function checkIdentity(record: Record<string, unknown>, where: string): DocumentIdentity {
  const { id, source, line } = record;
  if (typeof id !== 'string' || id.length === 0) throw invalidParameterError(`id of ${where}`, 'non-empty string', id);
  if (typeof source !== 'string') throw invalidParameterError(`source of ${where}`, 'string', source);
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 0 || line > MAX_SCORE_LINE) {
    throw invalidParameterError(`line of ${where}`, `integer between 0 and ${MAX_SCORE_LINE}`, line);
  }
  return { id, source, line };
}

const INTEGER_FIELDS = ['tokens', 'bytes', 'words'] as const;
const REAL_FIELDS = ['nll', 'bits_per_token', 'bits_per_byte'] as const;

/**
 * The score columns under the names `Scorer.score()` gives them (ScoreResult, camelCase), for the record's columns
 * that differ. The in-memory selection accepts a document under either naming.
 */
export const RESULT_FIELD_NAMES = { bits_per_token: 'bitsPerToken', bits_per_byte: 'bitsPerByte' } as const;

/** The score columns a selection reads, under the record's (file) names or the ScoreResult's (API) names. */
export type ScoreColumns = Pick<ScoreRecord, 'tokens' | 'nll' | 'bytes' | 'bits_per_token' | 'bits_per_byte'>;
export type ResultScoreColumns = Pick<ScoreResult, 'tokens' | 'nll' | 'bytes' | 'bitsPerToken' | 'bitsPerByte'>;

type Naming = 'record' | 'result';

/** Validates the numeric columns of a score record: counts are non-negative integers, the rest non-negative numbers. */
export function checkScoreFields(
  record: Record<string, unknown>,
  where: string,
  { requireWords = true, naming = 'record' }: { requireWords?: boolean; naming?: Naming } = {},
): void {
  for (const field of INTEGER_FIELDS) {
    const value = record[field];
    if (field === 'words' && value === undefined && !requireWords) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw invalidParameterError(`${field} of ${where}`, 'non-negative integer', value);
    }
  }
  for (const column of REAL_FIELDS) {
    const field =
      naming === 'result' && column in RESULT_FIELD_NAMES ? RESULT_FIELD_NAMES[column as 'bits_per_token'] : column;
    const value = record[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw invalidParameterError(`${field} of ${where}`, 'non-negative finite number', value);
    }
  }
  const perplexity = record.perplexity;
  if (perplexity !== undefined && (typeof perplexity !== 'number' || Number.isNaN(perplexity) || perplexity < 0)) {
    throw invalidParameterError(`perplexity of ${where}`, 'non-negative number', perplexity);
  }
}

/**
 * The score columns of an in-memory document, checked, under the record's names: a score record gives them as they
 * are, a ScoreResult (camelCase, as `Scorer.score()` returns it) is read under its own names.
 */
export function scoreColumnsOf(document: Record<string, unknown>, where: string): ScoreColumns {
  const naming: Naming =
    document.bits_per_token === undefined &&
    document.bits_per_byte === undefined &&
    (document.bitsPerToken !== undefined || document.bitsPerByte !== undefined)
      ? 'result'
      : 'record';
  checkScoreFields(document, where, { requireWords: false, naming });
  if (naming === 'record') return document as unknown as ScoreColumns;
  const { tokens, nll, bytes, bitsPerToken, bitsPerByte } = document as unknown as ResultScoreColumns;
  return { tokens, nll, bytes, bits_per_token: bitsPerToken, bits_per_byte: bitsPerByte };
}

/**
 * A score record read from a file, checked. `where` names it in errors: `score record 4 of scores.jsonl`. A bad
 * record is a SCORES_INVALID error (the file is at fault, not an option).
 */
export function parseScoreRecord(raw: unknown, where: string): ScoreRecord {
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw invalidParameterError(where, 'object', raw);
    // Parquet INT64 columns are converted to numbers by the reader (src/scores/read.ts).
    const record = raw as Record<string, unknown>;
    const identity = checkIdentity(record, where);
    // `words` is informational (no metric reads it): checked when present, not required.
    checkScoreFields(record, `${where} (id ${JSON.stringify(identity.id)})`, { requireWords: false });
    return record as unknown as ScoreRecord;
  } catch (error) {
    if (error instanceof InvalidOptionError)
      throw new InfopruneError('SCORES_INVALID', error.message, { cause: error });
    throw error;
  }
}
