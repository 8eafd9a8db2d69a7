/**
 * Steps 3 and 4: packing documents into engine calls and scoring them. Documents are taken in windows of consecutive
 * documents; inside a window they are sorted by length so that each call holds documents of similar length (the
 * engine's batches then fill evenly), and results come back in input order. Windows are cut from the document
 * stream alone (counts and token totals), so a run resumed at a window's end forms exactly the same windows and
 * engine calls as an uninterrupted run: the scores cannot differ even if the engine's arithmetic depended on which
 * documents share a batch.
 */
import type { ScoreResult, Scorer } from '../engine/types.js';
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

export function scoreDocuments(
  documents: AsyncIterable<PreparedDocument>,
  scorer: Scorer,
  packing: PackingOptions,
  signal?: AbortSignal,
): AsyncGenerator<ScoredDocument> {
  const scoreWindow = async (window: PreparedDocument[]): Promise<ScoredDocument[]> => {
    const results = await scoreWindowDocuments(window, scorer, packing, signal);
    return window.map((document, i) => ({ ...document, result: results[i], windowEnd: i === window.length - 1 }));
  };
  return flatten(mapOrdered(cutWindows(documents, packing), packing.windowsInFlight, scoreWindow));
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

/** Sorts the window's documents by length, cuts them into calls, scores the calls; results by window index. */
async function scoreWindowDocuments(
  window: PreparedDocument[],
  scorer: Scorer,
  packing: PackingOptions,
  signal: AbortSignal | undefined,
): Promise<(ScoreResult | undefined)[]> {
  const order: number[] = [];
  window.forEach((document, i) => {
    if (!document.failure) order.push(i);
  });
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
  const results: (ScoreResult | undefined)[] = new Array(window.length).fill(undefined);
  await Promise.all(
    calls.map(async (indexes) => {
      const scored = await scorer.scoreTokens(
        indexes.map((i) => ({ tokens: window[i].tokens, bytes: window[i].bytes })),
        signal ? { signal } : undefined,
      );
      if (scored.length !== indexes.length) {
        throw new Error(`The engine returned ${scored.length} results for ${indexes.length} documents`);
      }
      indexes.forEach((i, k) => {
        results[i] = scored[k];
      });
    }),
  );
  return results;
}
