/**
 * The scorer's call queue. One native scoring call runs at a time on a context; calls that arrive while it runs wait,
 * and the next native call takes as many of them as fit in one decode (batchSize tokens, maxSequences windows), so
 * 40 concurrent one-text calls cost a few decodes instead of 40. Results are split back per call: a document's score
 * does not depend on what it is packed with beyond rounding (README, "Independence from packing": within 1e-4
 * relative), so coalescing changes no value beyond that.
 *
 * Each call's AbortSignal is its own: an aborted call settles at once with an AbortError, and the native call is
 * stopped only when no call in it is still waiting for its results. `close()` settles every call with an AbortError.
 */
import { abortError, closedError, onAbort } from './abort.js';
import type { NativeContext, NativeScoreOutput } from './native.js';
import { scoreResult } from './results.js';
import type { ScoreResult, ScorerStats } from './types.js';

/** What decides how many tokens and windows a document costs in a decode (the README's window rule). */
export interface DecodeShape {
  contextSize: number;
  stride: number;
  batchSize: number;
  maxSequences: number;
  addsBos: boolean;
}

export interface ScoreCall {
  /** Text tokens (no BOS), ids already checked against the vocabulary. */
  documents: Int32Array[];
  bytes: ArrayLike<number>;
  logprobs: boolean;
  signal?: AbortSignal;
}

interface QueuedCall extends ScoreCall {
  tokens: number;
  windows: number;
  settled: boolean;
  settle(outcome: { results: ScoreResult[] } | { error: unknown }): void;
}

/**
 * Tokens evaluated and windows used by a document of `textTokens` tokens: the evaluated sequence ([BOS] + tokens
 * when the model adds BOS) in windows of up to contextSize tokens starting every stride tokens, the last being the
 * first to reach the end. Fewer than two evaluated tokens score nothing and cost nothing.
 */
export function decodeCost(textTokens: number, shape: DecodeShape): { tokens: number; windows: number } {
  const length = textTokens + (shape.addsBos ? 1 : 0);
  if (length < 2) return { tokens: 0, windows: 0 };
  if (length <= shape.contextSize) return { tokens: length, windows: 1 };
  const windows = 1 + Math.ceil((length - shape.contextSize) / shape.stride);
  const lastStart = (windows - 1) * shape.stride;
  return { tokens: (windows - 1) * shape.contextSize + (length - lastStart), windows };
}

export class ScoreCoalescer {
  readonly #context: NativeContext;
  readonly #shape: DecodeShape;
  #waiting: QueuedCall[] = [];
  #running: { calls: QueuedCall[]; done: Promise<void> } | undefined;
  #closed = false;
  readonly stats: ScorerStats = { calls: 0, batches: 0, documents: 0 };

  /** Runs before every native call; throwing fails the calls it would have decoded (src/engine/scorer.ts). */
  readonly #beforeDecode: () => void;

  constructor(context: NativeContext, shape: DecodeShape, beforeDecode: () => void = () => {}) {
    this.#context = context;
    this.#shape = shape;
    this.#beforeDecode = beforeDecode;
  }

  submit(call: ScoreCall): Promise<ScoreResult[]> {
    if (this.#closed) return Promise.reject(closedError('scorer'));
    if (call.signal?.aborted) return Promise.reject(abortError(undefined, call.signal.reason));
    return new Promise((resolve, reject) => {
      let tokens = 0;
      let windows = 0;
      for (const document of call.documents) {
        const cost = decodeCost(document.length, this.#shape);
        tokens += cost.tokens;
        windows += cost.windows;
      }
      let stopWaiting = () => {};
      const queued: QueuedCall = {
        ...call,
        tokens,
        windows,
        settled: false,
        settle: (outcome) => {
          if (queued.settled) return;
          queued.settled = true;
          stopWaiting();
          if ('results' in outcome) resolve(outcome.results);
          else reject(outcome.error);
        },
      };
      if (call.signal) stopWaiting = onAbort(call.signal, () => this.#abort(queued));
      this.stats.calls++;
      this.#waiting.push(queued);
      this.#next();
    });
  }

  /** Settles every call with an AbortError, stops the native call in flight and waits for it to end. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#waiting) call.settle({ error: closedError('scorer') });
    this.#waiting = [];
    const running = this.#running;
    if (running) {
      for (const call of running.calls) call.settle({ error: closedError('scorer') });
      this.#context.abort();
      await running.done;
    }
  }

  #abort(call: QueuedCall): void {
    call.settle({ error: abortError(undefined, call.signal?.reason) });
    const index = this.#waiting.indexOf(call);
    if (index >= 0) this.#waiting.splice(index, 1);
    else if (this.#running?.calls.every((running) => running.settled)) this.#context.abort();
  }

  /** Starts the next native call when none runs: the waiting calls, in order, that fit in one decode. */
  #next(): void {
    if (this.#running || this.#closed || this.#waiting.length === 0) return;
    const calls = this.#take();
    const documents = calls.flatMap((call) => call.documents);
    this.stats.batches++;
    this.stats.documents += documents.length;
    let output: Promise<NativeScoreOutput>;
    try {
      this.#beforeDecode();
      output = this.#context.scoreTokens(
        documents,
        calls.some((call) => call.logprobs),
      );
    } catch (error) {
      output = Promise.reject(error);
    }
    const done = output
      .then(
        (scored) => deliver(calls, scored),
        (error) => {
          for (const call of calls) call.settle({ error });
        },
      )
      .finally(() => {
        this.#running = undefined;
        this.#next();
      });
    this.#running = { calls, done };
  }

  /** The first waiting call, and those after it while the decode's token and window budgets allow. */
  #take(): QueuedCall[] {
    const { batchSize, maxSequences } = this.#shape;
    let count = 1;
    let tokens = this.#waiting[0].tokens;
    let windows = this.#waiting[0].windows;
    while (count < this.#waiting.length) {
      const call = this.#waiting[count];
      if (tokens + call.tokens > batchSize || windows + call.windows > maxSequences) break;
      tokens += call.tokens;
      windows += call.windows;
      count++;
    }
    return this.#waiting.splice(0, count);
  }
}

/** Splits a native call's output back into its calls' results (calls settled meanwhile are skipped). */
function deliver(calls: readonly QueuedCall[], output: NativeScoreOutput): void {
  let offset = 0;
  for (const call of calls) {
    const count = call.documents.length;
    if (!call.settled) {
      const results: ScoreResult[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const logprobs = call.logprobs ? output.logprobs?.[offset + i] : undefined;
        results[i] = scoreResult(output.tokens[offset + i], output.nll[offset + i], call.bytes[i], logprobs);
      }
      call.settle({ results });
    }
    offset += count;
  }
}
