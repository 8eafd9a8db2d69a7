/**
 * How a corpus is read: one `ReadingOptions` type for `readCorpus`, `scoreCorpus`, `runScoreJob` and `pruneCorpus`,
 * its defaults in one literal, and one resolver, so that `score` and `prune` see the same records.
 */
import { expectOneOf, expectPositiveInteger, expectString } from '../util/validate.js';
import type { InputFormat } from './inputs.js';
import type { ParseOptions } from './parse.js';

export const INPUT_FORMATS = ['auto', 'jsonl', 'parquet', 'text'] as const;
export const TEXT_MODES = ['file', 'line'] as const;

/** Every reading default (the CLI's help shows these). */
export const READING_DEFAULTS = Object.freeze({
  textField: 'text',
  /** Used when present in a record; a record without it gets the id `<source>:<line>`. */
  idField: 'id',
  textMode: 'file' as (typeof TEXT_MODES)[number],
  format: 'auto' as InputFormat | 'auto',
  /** Documents above this size are reported and skipped: they would hold tens of MB in every stage at once. */
  maxDocumentBytes: 32 * 1024 * 1024,
});

export interface ReadingOptions {
  /** Field holding the text (JSONL, Parquet). Default `text`. */
  textField?: string;
  /** Field holding the id. Default `id` when present, else `<source>:<line>`. */
  idField?: string;
  /** Plain text files: one document per file (default) or one per line. */
  textMode?: 'file' | 'line';
  /** Force the input format instead of telling it from file names. Default `auto`. */
  format?: InputFormat | 'auto';
  /** Documents longer than this many bytes are skipped (and reported). Default 32 MiB. */
  maxDocumentBytes?: number;
}

export interface ResolvedReading extends ParseOptions {
  textMode: 'file' | 'line';
  format: InputFormat | 'auto';
  maxDocumentBytes: number;
}

/** Defaults applied, every value checked. */
export function resolveReadingOptions(options: ReadingOptions): ResolvedReading {
  const d = READING_DEFAULTS;
  return {
    textField:
      options.textField === undefined ? d.textField : expectString('textField', options.textField, { nonEmpty: true }),
    idField: options.idField === undefined ? d.idField : expectString('idField', options.idField, { nonEmpty: true }),
    idFieldExplicit: options.idField !== undefined,
    textMode: options.textMode === undefined ? d.textMode : expectOneOf('textMode', options.textMode, TEXT_MODES),
    format: options.format === undefined ? d.format : expectOneOf('format', options.format, INPUT_FORMATS),
    maxDocumentBytes:
      options.maxDocumentBytes === undefined
        ? d.maxDocumentBytes
        : expectPositiveInteger('maxDocumentBytes', options.maxDocumentBytes),
  };
}
