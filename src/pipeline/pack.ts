/**
 * Steps 3 and 4: packing documents into engine calls and scoring them. Documents are taken in windows of consecutive
 * documents; inside a window they are sorted by length so that each call holds documents of similar length (the
 * engine's batches then fill evenly), and results come back in input order. Windows are cut from the document
 * stream alone (counts and token totals), so a run resumed at a window's end forms exactly the same windows and
 * engine calls as an uninterrupted run: the scores cannot differ even if the engine's arithmetic depended on which
 * documents share a batch.
 */
import { scoreResult } from '../engine/results.js';
import type { ScoreResult, Scorer } from '../engine/types.js';
import type { DedupIndex } from './dedup.js';
import { flatten, mapOrdered } from './ordered.js';
import type { PreparedDocument } from './preparer.js';

export interface PackingOptions {
  /** Most tokens one `scoreTokens` call gets (a longer document gets a call of its own). */
  callTokens: number;
  /** Most documents one call gets. */
  callDocuments: number;
  /** A window closes at this many documents ... */
  windowDocuments: number;
  /** ... or tokens. */
  windowTokens: number;
  /** Windows in flight: while one is scored, the next is packed and queued, so the engine never waits on JS. */
  windowsInFlight: number;
}

export interface ScoredDocument extends PreparedDocument {
  /** The engine's result; undefined for failed positions. */
  result?: ScoreResult;
  /**
   * `first`: the first occurrence of its text the dedup index remembers; `reused`: an exact duplicate that took an
   * earlier occurrence's result instead of being scored; undefined: scored, not remembered (no index, or full).
   */
  dedup?: 'first' | 'reused';
  /**
   * The last position of a window: a run checkpointed here and resumed forms the same windows (see above), so the
   * pipeline checkpoints only at window ends.
   */
  windowEnd: boolean;
}

/** Packing that fits the scorer: calls of a few engine batches, windows of a few calls. */
export function packingFor(scorer: Scorer): PackingOptions {
  const { batchSize, maxSequences } = scorer.options;
  const callTokens = Math.max(batchSize, 1) * 4;
  const callDocuments = Math.max(maxSequences, 1) * 4;
  return {
    callTokens,
    callDocuments,
    windowDocuments: callDocuments * 4,
    windowTokens: callTokens * 4,
    windowsInFlight: 2,
  };
}

/** What scoring a window needs besides its documents. */
export interface ScoringContext {
  scorer: Scorer;
  packing: PackingOptions;
  /** Exact duplicates take the result of their text's first occurrence (none: every document is scored). */
  dedup?: DedupIndex;
  /** Also get each scored token's log-probability. */
  logprobs?: boolean;
  signal?: AbortSignal;
}

export function scoreDocuments(
  documents: AsyncIterable<PreparedDocument>,
  context: ScoringContext,
): AsyncGenerator<ScoredDocument> {
  const scoreWindow = async (window: PreparedDocument[]): Promise<ScoredDocument[]> => {
    const { results, dedup } = await scoreWindowDocuments(window, context);
    return window.map((document, i) => ({
      ...document,
      result: results[i],
      dedup: dedup[i],
      windowEnd: i === window.length - 1,
    }));
  };
  return flatten(mapOrdered(cutWindows(documents, context.packing), context.packing.windowsInFlight, scoreWindow));
}

async function* cutWindows(
  documents: AsyncIterable<PreparedDocument>,
  packing: PackingOptions,
): AsyncGenerator<PreparedDocument[]> {
  let window: PreparedDocument[] = [];
  let tokens = 0;
  for await (const document of documents) {
    window.push(document);
    tokens += document.tokens.length;
    if (window.length >= packing.windowDocuments || tokens >= packing.windowTokens) {
      yield window;
      window = [];
      tokens = 0;
    }
  }
  if (window.length > 0) yield window;
}

/**
 * The window's results, by window index: duplicates of texts met before (in this window or an earlier one) take
 * those results; the rest are sorted by length, cut into calls and scored.
 */
async function scoreWindowDocuments(
  window: PreparedDocument[],
  context: ScoringContext,
): Promise<{ results: (ScoreResult | undefined)[]; dedup: ScoredDocument['dedup'][] }> {
  const results: (ScoreResult | undefined)[] = new Array(window.length).fill(undefined);
  const dedup: ScoredDocument['dedup'][] = new Array(window.length).fill(undefined);
  const order: number[] = [];
  const firsts = new Map<number, (result: ScoreResult | Error) => void>();
  const waiting: { index: number; result: Promise<ScoreResult> }[] = [];
  window.forEach((document, i) => {
    if (document.failure) return;
    const claim = context.dedup?.claim(document.hash, 0, document.bytes) ?? { kind: 'untracked' };
    if (claim.kind === 'reused') {
      results[i] = claim.result;
      dedup[i] = 'reused';
    } else if (claim.kind === 'waiting') {
      waiting.push({ index: i, result: claim.result });
      dedup[i] = 'reused';
    } else {
      if (claim.kind === 'first') {
        firsts.set(i, claim.settle);
        dedup[i] = 'first';
      }
      order.push(i);
    }
  });
  try {
    await scoreCalls(window, order, context, results);
  } catch (error) {
    for (const settle of firsts.values()) settle(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  for (const [i, settle] of firsts) settle(results[i]!);
  for (const { index, result } of waiting) {
    const first = await result;
    results[index] = scoreResult(first.tokens, first.nll, window[index].bytes);
  }
  return { results, dedup };
}

/** Sorts the documents at `order` by length, cuts them into calls and scores them into `results`. */
async function scoreCalls(
  window: PreparedDocument[],
  order: number[],
  { scorer, packing, logprobs, signal }: ScoringContext,
  results: (ScoreResult | undefined)[],
): Promise<void> {
  order.sort((a, b) => window[a].tokens.length - window[b].tokens.length || a - b);
  const calls: number[][] = [];
  let call: number[] = [];
  let callTokens = 0;
  for (const i of order) {
    const length = window[i].tokens.length;
    if (call.length > 0 && (callTokens + length > packing.callTokens || call.length >= packing.callDocuments)) {
      calls.push(call);
      call = [];
      callTokens = 0;
    }
    call.push(i);
    callTokens += length;
  }
  if (call.length > 0) calls.push(call);
  const options = logprobs || signal ? { ...(logprobs ? { logprobs } : {}), ...(signal ? { signal } : {}) } : undefined;
  await Promise.all(
    calls.map(async (indexes) => {
      const scored = await scorer.scoreTokens(
        indexes.map((i) => ({ tokens: window[i].tokens, bytes: window[i].bytes })),
        options,
      );
      if (scored.length !== indexes.length) {
        throw new Error(`The engine returned ${scored.length} results for ${indexes.length} documents`);
      }
      indexes.forEach((i, k) => {
        results[i] = scored[k];
      });
    }),
  );
}
