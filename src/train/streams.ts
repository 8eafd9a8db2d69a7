/**
 * The probe's documents as llama.cpp tokenizes them (with the probe's own vocabulary, off the main thread): the
 * training stream `[BOS] doc [BOS] doc ...` that training windows are drawn from, and the held-out documents, one by
 * one (for the count models) and as a stream (for the loss curve).
 */
import type { Tokenizer } from '../engine/types.js';
import type { ProbeCorpus } from './sample.js';

export interface TokenStreams {
  training: Int32Array;
  heldoutDocuments: Int32Array[];
  heldout: Int32Array;
  /** Training text bytes per token (the vocabulary's compression). */
  bytesPerToken: number;
}

/** Texts tokenized at once (each on libuv's thread pool): enough to keep the pool busy, few enough to cancel soon. */
const TOKENIZE_BATCH = 256;

export async function tokenizeStreams(
  tokenizer: Tokenizer,
  corpus: Pick<ProbeCorpus, 'training' | 'heldout' | 'trainingBytes'>,
  bosToken: number,
  signal?: AbortSignal,
): Promise<TokenStreams> {
  const training = await tokenizeAll(tokenizer, corpus.training, signal);
  const heldoutDocuments = await tokenizeAll(tokenizer, corpus.heldout, signal);
  const trainingStream = joinWithBos(training, bosToken);
  return {
    training: trainingStream,
    heldoutDocuments,
    heldout: joinWithBos(heldoutDocuments, bosToken),
    bytesPerToken: corpus.trainingBytes / Math.max(1, trainingStream.length - training.length),
  };
}

/** Every text's tokens, in order. */
export async function tokenizeAll(
  tokenizer: Tokenizer,
  texts: readonly string[],
  signal?: AbortSignal,
): Promise<Int32Array[]> {
  const out: Int32Array[] = [];
  for (let start = 0; start < texts.length; start += TOKENIZE_BATCH) {
    signal?.throwIfAborted();
    const batch = texts.slice(start, start + TOKENIZE_BATCH);
    out.push(...(await Promise.all(batch.map((text) => tokenizer.tokenize(text, { signal })))));
  }
  return out;
}

/** `[BOS] doc [BOS] doc ...`: the stream training windows are drawn from. */
export function joinWithBos(documents: readonly Int32Array[], bos: number): Int32Array {
  const stream = new Int32Array(documents.reduce((sum, tokens) => sum + tokens.length + 1, 0));
  let at = 0;
  for (const tokens of documents) {
    stream[at++] = bos;
    stream.set(tokens, at);
    at += tokens.length;
  }
  return stream;
}
