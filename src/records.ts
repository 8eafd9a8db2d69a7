/**
 * The score record: one per input document, written by `infoprune score` (JSONL or Parquet, same columns)
 * and read by `infoprune prune`. snake_case because it is a file format, not a JS API.
 */
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
