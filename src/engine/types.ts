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
   * layers, lowered to keep the logits buffer (batchSize × vocabulary × 4 bytes) under 512 MiB for large
   * vocabularies. Each token attends over the whole decode's KV cache, so bigger is not faster on a CPU.
   */
  batchSize?: number;
  /** Most documents (sequences) in one decode, default min(256, batchSize), at most that. */
  maxSequences?: number;
  /** CPU threads for decoding and for the log-softmax, default: the machine's cores. */
  threads?: number;
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
  /** Cancels the call: it rejects with an AbortError and the scorer stays usable. */
  signal?: AbortSignal;
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

export interface Scorer {
  readonly model: ModelInfo;
  /** The effective options (defaults filled in). */
  readonly options: Required<Omit<ScorerOptions, 'verbose' | 'gpuLayers'>> & { gpuLayers: number; verbose: boolean };
  /** Scores texts; one result per text, in order. */
  score(texts: readonly string[], options?: ScoreOptions): Promise<ScoreResult[]>;
  /** Scores pre-tokenized documents (the streaming pipeline's entry); one result per document, in order. */
  scoreTokens(documents: readonly TokenizedDocument[], options?: ScoreOptions): Promise<ScoreResult[]>;
  /** Tokenizes like the scorer does: special-token parsing off, no BOS. */
  tokenize(text: string): Int32Array;
  /** Waits for calls in flight, then frees the model and context. Further use throws. */
  close(): Promise<void>;
}

/** A vocabulary-only load of a model (no weights): what the pipeline's worker threads tokenize with. */
export interface Tokenizer {
  readonly vocabularySize: number;
  readonly addsBos: boolean;
  /** Special-token parsing off, no BOS: the same tokens `Scorer.tokenize` gives. */
  tokenize(text: string): Int32Array;
  close(): void;
}
