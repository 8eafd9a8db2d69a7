/**
 * CONTRACT (implemented by the pipeline issue): reading corpus records from files, folders and globs.
 * Used by `infoprune score` (src/pipeline) and by `infoprune prune` (src/select) so both see the same records,
 * with the same ids, sources and line numbers.
 */

export interface CorpusRecord {
  /** The input file, as resolved from the command line. */
  source: string;
  /** 1-based line (JSONL, text-per-line), 0-based row (Parquet), 0 (one document per text file). */
  line: number;
  /** `--id-field` value when present (stringified), else `<source>:<line>`. */
  id: string;
  /** The document text. */
  text: string;
  /** Exact bytes of the record: the JSONL line without its newline (decompressed), or the text file/line. Absent for Parquet. */
  raw?: Buffer;
  /** Parquet only: the row as an object, for writing the kept rows back out. */
  row?: Record<string, unknown>;
}

export interface RecordError {
  source: string;
  line: number;
  reason: string;
}

export interface ReadCorpusOptions {
  /** Field holding the text (JSONL, Parquet). Default `text`. */
  textField?: string;
  /** Field holding the id. Default `id` when present, else `<source>:<line>`. */
  idField?: string;
  /** Plain text files: one document per file (default) or one per line. */
  textMode?: 'file' | 'line';
  /** Called for each record that cannot be read (malformed JSON, missing text, ...); the read goes on. */
  onError?: (error: RecordError) => void;
  signal?: AbortSignal;
}
