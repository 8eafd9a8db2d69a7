/**
 * Checking score records, from a file or from the API: every field the selection reads is validated here, so a
 * NaN, a negative count or a missing id is reported with the record it came from before anything is written.
 */
import type { ScoreRecord } from '../records.js';
import { invalidParameterError } from '../validate.js';
import { MAX_KEY_LINE } from './keys.js';

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
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 0 || line > MAX_KEY_LINE) {
    throw invalidParameterError(`line of ${where}`, `integer between 0 and ${MAX_KEY_LINE}`, line);
  }
  return { id, source, line };
}

const INTEGER_FIELDS = ['tokens', 'bytes', 'words'] as const;
const REAL_FIELDS = ['nll', 'bits_per_token', 'bits_per_byte'] as const;

/** Validates the numeric columns of a score record: counts are non-negative integers, the rest non-negative numbers. */
export function checkScoreFields(
  record: Record<string, unknown>,
  where: string,
  { requireWords = true }: { requireWords?: boolean } = {},
): void {
  for (const field of INTEGER_FIELDS) {
    const value = record[field];
    if (field === 'words' && value === undefined && !requireWords) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw invalidParameterError(`${field} of ${where}`, 'non-negative integer', value);
    }
  }
  for (const field of REAL_FIELDS) {
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

/** A score record read from a file, checked. `where` names it in errors: `score record 4 (scores.jsonl:4)`. */
export function parseScoreRecord(raw: unknown, where: string): ScoreRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalidParameterError(where, 'object', raw);
  }
  // Parquet INT64 columns are converted to numbers by the pipeline's reader (src/pipeline/score-files.ts).
  const record = raw as Record<string, unknown>;
  const identity = checkIdentity(record, where);
  // `words` is informational (no metric reads it): checked when present, not required.
  checkScoreFields(record, `${where} (id ${JSON.stringify(identity.id)})`, { requireWords: false });
  return record as unknown as ScoreRecord;
}
