/**
 * The probe's documents as llama.cpp tokenizes them (with the probe's own vocabulary, off the main thread): the
 * training stream `[BOS] doc [BOS] doc ...` that training windows are drawn from, and the held-out documents, one by
 * one (for the count models) and as a stream (for the loss curve).
 */
import type { NativeTrainer } from '../engine/native.js';
import type { ProbeCorpus } from './sample.js';

export interface TokenStreams {
  training: Int32Array;
  heldoutDocuments: Int32Array[];
  heldout: Int32Array;
  /** Training text bytes per token (the vocabulary's compression). */
  bytesPerToken: number;
}

/** Texts per native call: big enough to amortise the call, small enough to see a cancel soon. */
const TOKENIZE_BATCH = 512;

export async function tokenizeStreams(
  trainer: NativeTrainer,
  corpus: ProbeCorpus,
  signal?: AbortSignal,
): Promise<TokenStreams> {
  const bos = trainer.info().bosToken;
  const training = await tokenizeAll(trainer, corpus.training, signal);
  const heldoutDocuments = await tokenizeAll(trainer, corpus.heldout, signal);
  const trainingStream = joinWithBos(training, bos);
  return {
    training: trainingStream,
    heldoutDocuments,
    heldout: joinWithBos(heldoutDocuments, bos),
    bytesPerToken: corpus.trainingBytes / Math.max(1, trainingStream.length - training.length),
  };
}

async function tokenizeAll(trainer: NativeTrainer, texts: string[], signal?: AbortSignal): Promise<Int32Array[]> {
  const out: Int32Array[] = [];
  for (let start = 0; start < texts.length; start += TOKENIZE_BATCH) {
    signal?.throwIfAborted();
    out.push(...(await trainer.tokenize(texts.slice(start, start + TOKENIZE_BATCH))));
  }
  return out;
}

function joinWithBos(documents: Int32Array[], bos: number): Int32Array {
  const stream = new Int32Array(documents.reduce((sum, tokens) => sum + tokens.length + 1, 0));
  let at = 0;
  for (const tokens of documents) {
    stream[at++] = bos;
    stream.set(tokens, at);
    at += tokens.length;
  }
  return stream;
}
