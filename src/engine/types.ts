/** Public types of the scoring engine. The semantics are written out in the README ("Exact semantics"). */

export interface ScorerOptions {
  /** Path to a GGUF model file. */
  model: string;
  /** Tokens one evaluation window holds (the document's context), default 512, at most the model's training context. */
  contextSize?: number;
  /** Sliding-window step for documents longer than the context, default contextSize / 2 (floored). */
  stride?: number;
  /**
   * Tokens per llama_decode (many documents packed together; also llama.cpp's physical micro-batch, so no document
   * is split across micro-batches). Default max(contextSize, 512) on CPU and max(contextSize, 2048) with GPU
   * layers, lowered to keep the logits (llama.cpp's output buffer and its compute buffer's copy, each batchSize ×
   * vocabulary × 4 bytes) under 512 MiB for large vocabularies. Each window attends over its own KV stream only, so
   * a token costs the same at any batch size; the windows of a decode are padded to one length (at most 1/8 more).
   */
  batchSize?: number;
  /**
   * Most documents (windows) in one decode, at most min(256, batchSize). Each has a KV stream of contextSize cells
   * (rounded up to 256), so the cache holds maxSequences × contextSize cells. Default batchSize / 64, and at most
   * 8 × batchSize / contextSize (the cache then holds at most 8 batches of cells); raise it for corpora of documents
   * much shorter than 64 tokens, whose decodes then fill up.
   */
  maxSequences?: number;
  /**
   * CPU threads for decoding and for the log-softmax, default: the cores this process may use (its CPU affinity and
   * cgroup quota), and at most that unless `forceThreads` (llama.cpp's threads spin: more threads than cores is
   * 10-40x slower).
   */
  threads?: number;
  /** Allow more `threads` than usable cores. Default false. */
  forceThreads?: boolean;
  /** Layers offloaded to the GPU: 0 for CPU only, a large number (or 'max') for all. Default 0. */
  gpuLayers?: number | 'max';
  /**
   * Use llama.cpp's flash attention. Default: off on CPU, where llama.cpp's kernel makes a document's score depend
   * (by up to ~1e-3 per token on small random models) on which documents share its batch, at a cost of about 13 %
   * in speed; on when layers are offloaded to a GPU, where it saves memory and time.
   */
  flashAttention?: boolean;
  /** Print llama.cpp's own log lines to stderr. Default false (silent). */
  verbose?: boolean;
}

export interface ScoreOptions {
  /** Also return each scored token's natural-log probability. Default false. */
  logprobs?: boolean;
  /**
   * Cancels the call: it rejects at once with an AbortError (`name: 'AbortError'`, `code: 'ABORT_ERR'`) and the
   * scorer stays usable. Other calls coalesced into the same decode are not affected.
   */
  signal?: AbortSignal;
}

/** What a scorer has done since it opened (for a service's metrics). */
export interface ScorerStats {
  /** `score` and `scoreTokens` calls made. */
  calls: number;
  /** Native scoring calls (each one or more llama_decode calls); calls / batches is how much calls were coalesced. */
  batches: number;
  /** Documents in those native calls. */
  documents: number;
}

export interface ScoreResult {
  /** Tokens scored: all text tokens if the model adds BOS, else all but the first. */
  tokens: number;
  /** Sum of -ln p(token | context) over the scored tokens, in nats (accumulated in double precision). */
  nll: number;
  /** UTF-8 bytes of the text (for pre-tokenized input: as given, else 0). */
  bytes: number;
  /** nll / tokens / ln 2; 0 when no token was scored. */
  bitsPerToken: number;
  /** nll / bytes / ln 2; 0 when bytes is 0. */
  bitsPerByte: number;
  /** exp(nll / tokens); 1 when no token was scored. */
  perplexity: number;
  /** Natural-log probabilities of the scored tokens, in order (only with `logprobs: true`). */
  logprobs?: Float32Array;
}

/** A pre-tokenized document (text tokens only: the engine adds BOS itself when the model wants it). */
export interface TokenizedDocument {
  tokens: Int32Array;
  /** UTF-8 bytes of the source text, for bitsPerByte. */
  bytes: number;
}

export interface ModelInfo {
  path: string;
  architecture: string;
  description: string;
  /** Vocabulary size. */
  vocabularySize: number;
  /** The model's training context (GGUF `<arch>.context_length`). */
  trainingContextSize: number;
  /** Whether the vocabulary adds BOS (then every text token is scored). */
  addsBos: boolean;
  bosToken: number;
  parameterCount: number;
  sizeBytes: number;
}

/**
 * An open model and scoring context. Safe to share between concurrent callers (one per process is the intended use
 * in a service): calls that arrive while a decode runs are coalesced into the next one, each keeping its own results
 * and AbortSignal. `await using scorer = await openScorer(...)` closes it at the end of the scope.
 */
export interface Scorer extends AsyncDisposable {
  readonly model: ModelInfo;
  /** The effective options (defaults filled in). */
  readonly options: Required<Omit<ScorerOptions, 'verbose' | 'gpuLayers' | 'forceThreads'>> & {
    gpuLayers: number;
    verbose: boolean;
  };
  /** Counters since the scorer opened (live: read them when needed). */
  readonly stats: Readonly<ScorerStats>;
  /** Scores texts; one result per text, in order. Tokenizing and scoring both run off the main thread. */
  score(texts: readonly string[], options?: ScoreOptions): Promise<ScoreResult[]>;
  /** Scores pre-tokenized documents (the streaming pipeline's entry); one result per document, in order. */
  scoreTokens(documents: readonly TokenizedDocument[], options?: ScoreOptions): Promise<ScoreResult[]>;
  /** Tokenizes like the scorer does (special-token parsing off, no BOS), off the main thread. */
  tokenize(text: string, options?: { signal?: AbortSignal }): Promise<Int32Array>;
  /**
   * The same tokens on the calling thread, which it blocks (about a second per MB of text): for code that prepares
   * documents on a thread of its own, as the pipeline does with `workers: 0`.
   */
  tokenizeSync(text: string): Int32Array;
  /**
   * Closes the scorer: calls still waiting or running reject with an AbortError (the decode in flight is stopped),
   * then the model and context are freed. Further calls reject. `[Symbol.asyncDispose]` does the same.
   */
  close(): Promise<void>;
}

/**
 * A vocabulary-only load of a model (no weights, milliseconds): tokenizes exactly like the scorer. `tokenize` runs
 * off the calling thread; `tokenizeSync` blocks it, for worker threads (the pipeline's), where blocking is the point.
 */
export interface Tokenizer extends Disposable, AsyncDisposable {
  readonly vocabularySize: number;
  readonly addsBos: boolean;
  /** Special-token parsing off, no BOS: the same tokens `Scorer.tokenize` gives. Off the calling thread. */
  tokenize(text: string, options?: { signal?: AbortSignal }): Promise<Int32Array>;
  /** The same tokens, on the calling thread (1 MB of text blocks it for about a second). */
  tokenizeSync(text: string): Int32Array;
  /** Frees the vocabulary; tokenizations in flight reject with an AbortError. */
  close(): void;
}
