/**
 * infoprune's errors carry a stable `code`, as better-sqlite3's SqliteError does: a Node service branches on
 * `error.code`, never on the wording. Messages name API options (`contextSize`, `resume`); the CLI rewords the same
 * error with its flags (`--context`, `--resume`) through `reword()`, so each error has one wording and the flag names
 * live in one table (src/cli/flags.ts).
 *
 * - `InvalidOptionError` (a TypeError, like Node's ERR_INVALID_ARG_TYPE): code `INVALID_OPTION`, and `option`, the
 *   API option at fault.
 * - `InfopruneError`: every other failure a caller may want to handle, with one of the codes below.
 * Errors without a code are the system's (ENOSPC, EACCES), llama.cpp's, or bugs.
 */

/** How a message names an option: its API name by default; the CLI passes its flag names. */
export type OptionNamer = (option: string) => string;

/** A message, or a message that names options through an `OptionNamer`. */
export type Wording = string | ((name: OptionNamer) => string);

const apiName: OptionNamer = (option) => option;

function worded(wording: Wording, name: OptionNamer): string {
  return typeof wording === 'string' ? wording : wording(name);
}

export const ERROR_CODES = {
  /** An option has a bad value (InvalidOptionError). */
  INVALID_OPTION: 'an option has a bad value',
  /** The model file does not exist or is a folder. */
  MODEL_NOT_FOUND: 'the model file does not exist',
  /** The model file is not a usable GGUF file: wrong magic, unsupported version, corrupt or truncated. */
  MODEL_INVALID: 'the model file is not a valid GGUF file',
  /** llama.cpp could not load a valid GGUF file (unsupported architecture or tensor layout). */
  MODEL_LOAD_FAILED: 'llama.cpp could not load the model',
  /** The model file changed (truncated, replaced) while a scorer was using it. */
  MODEL_CHANGED: 'the model file changed while it was in use',
  /** An input argument matches no file, or names something that is neither a file nor a folder. */
  INPUT_NOT_FOUND: 'an input does not exist or matches no file',
  /** An input's format cannot be told from its name, or is not supported (compressed Parquet). */
  INPUT_UNSUPPORTED: 'an input has an unknown or unsupported format',
  /** The output already exists and is not replaced (prune's folder, merge over a shard, a file infoprune did not write). */
  OUTPUT_EXISTS: 'the output already exists',
  /** The output cannot be written: its folder is missing or not writable, or it is not a regular file. */
  OUTPUT_NOT_WRITABLE: 'the output cannot be written',
  /** Another run is writing the same output (it holds `<out>.lock`). */
  OUTPUT_LOCKED: 'another run is writing the output',
  /** An input is one of the run's own output files. */
  INPUT_IS_OUTPUT: 'an input is one of the outputs',
  /** An interrupted scoring run is at the output (resume it or overwrite it), or a score file is unfinished. */
  RUN_INCOMPLETE: 'a scoring run is unfinished',
  /** A resume was asked for with other inputs or options, or the run's files were changed since its checkpoint. */
  RESUME_MISMATCH: 'the resumed run differs from the interrupted one',
  /** Shard outputs do not form one complete split of one run. */
  SHARDS_MISMATCH: 'the shards do not belong together',
  /** A score file, its manifest or its word-frequency table is missing. */
  SCORES_NOT_FOUND: 'a score file is missing',
  /** A score file, manifest, checkpoint or word-frequency table is malformed. */
  SCORES_INVALID: 'a score file is malformed',
  /** The scores do not match the corpus (ids on one side only, or out of order beyond the in-memory join). */
  SCORES_MISMATCH: 'the scores do not match the corpus',
  /** Two documents share an id. */
  DUPLICATE_ID: 'two documents share an id',
  /** The corpus changed while it was being read twice (prune's passes). */
  CORPUS_CHANGED: 'the corpus changed while it was read',
  /** The inputs hold no readable document. */
  NO_DOCUMENTS: 'the inputs hold no readable document',
  /**
   * No native addon fits this machine (no prebuilt for the platform and no source build), or llama.cpp's libraries
   * it links (node-llama-cpp's package for the platform) are missing or do not load.
   */
  NATIVE_UNAVAILABLE: 'the native addon or its llama.cpp libraries are not available',
  /** In a checkout: the local build of the native addon is older than its C++ sources (run `npm run build:native`). */
  NATIVE_STALE: 'the native addon was built from older sources',
  /** The corpus is too small to train a probe on (and measure it). */
  CORPUS_TOO_SMALL: 'the corpus is too small to train a probe on',
  /** Training a probe failed (the loss diverged, or llama.cpp could not build or save the model). */
  TRAINING_FAILED: 'training the probe failed',
} as const;

export type InfopruneErrorCode = keyof typeof ERROR_CODES;

export class InfopruneError extends Error {
  readonly code: Exclude<InfopruneErrorCode, 'INVALID_OPTION'>;
  readonly #wording: Wording;

  constructor(code: Exclude<InfopruneErrorCode, 'INVALID_OPTION'>, wording: Wording, options?: ErrorOptions) {
    super(worded(wording, apiName), options);
    this.name = 'InfopruneError';
    this.code = code;
    this.#wording = wording;
  }

  /** The message with options named by `name` (the CLI passes its flag names). */
  reword(name: OptionNamer): string {
    return worded(this.#wording, name);
  }
}

export class InvalidOptionError extends TypeError {
  readonly code = 'INVALID_OPTION' as const;
  /** What the option should have been and what it was, when the message is `Expected ... but received ...`. */
  readonly expected: string | undefined;
  readonly received: unknown;
  readonly #wording: Wording;

  constructor(
    readonly option: string,
    wording: Wording,
    details: { expected?: string; received?: unknown } = {},
  ) {
    super(worded(wording, apiName));
    this.name = 'TypeError';
    this.#wording = wording;
    this.expected = details.expected;
    this.received = details.received;
  }

  reword(name: OptionNamer): string {
    return worded(this.#wording, name);
  }
}

/** Whether an error is one of infoprune's, with a code and a `reword()`. */
export function isInfopruneError(error: unknown): error is InfopruneError | InvalidOptionError {
  return error instanceof InfopruneError || error instanceof InvalidOptionError;
}
