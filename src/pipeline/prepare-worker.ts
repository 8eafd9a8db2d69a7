/**
 * The Piscina worker: prepares chunks (parse, tokenize, count words) off the main thread. Each thread loads the
 * model's vocabulary once (a vocabulary-only load: no weights) and keeps it for the pool's life.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { Tokenizer } from '../engine/types.js';
import type { TokenizerModule } from './options.js';
import { type PreparedChunk, type PrepareTask, prepareChunk } from './prepare.js';

export interface PrepareMessage {
  task: PrepareTask;
  tokenizer: TokenizerModule;
  model: string;
}

/** What a worker needs of a tokenizer module's tokenizer. */
type WorkerTokenizer = Pick<Tokenizer, 'tokenizeSync'>;

const tokenizers = new Map<string, Promise<WorkerTokenizer>>();

function tokenizerFor(module: TokenizerModule, model: string): Promise<WorkerTokenizer> {
  const key = `${module.url}#${module.exportName ?? 'openTokenizer'}#${model}`;
  let tokenizer = tokenizers.get(key);
  if (!tokenizer) {
    tokenizer = (async () => {
      const loaded = (await import(module.url)) as Record<string, unknown>;
      const open = loaded[module.exportName ?? 'openTokenizer'];
      if (typeof open !== 'function')
        throw new Error(`${module.url} exports no function ${module.exportName ?? 'openTokenizer'}`);
      return (await open(model)) as WorkerTokenizer;
    })();
    tokenizers.set(key, tokenizer);
  }
  return tokenizer;
}

export default async function prepare(message: PrepareMessage): Promise<unknown> {
  const tokenizer = await tokenizerFor(message.tokenizer, message.model);
  const chunk = prepareChunk(message.task, (text) => tokenizer.tokenizeSync(text));
  return move(transferablePrepared(chunk));
}

/** Piscina's Transferable interface: the chunk, and the buffers to move (not copy) back to the main thread. */
function transferablePrepared(chunk: PreparedChunk): {
  [transferableSymbol]: ArrayBuffer[];
  [valueSymbol]: PreparedChunk;
} {
  const buffers = new Set<ArrayBuffer>();
  for (const array of [chunk.bytes, chunk.tokenEnds, chunk.tokens, chunk.wordEnds, chunk.wordBuckets, chunk.hashes]) {
    if (array.buffer instanceof ArrayBuffer && array.buffer.byteLength > 0) buffers.add(array.buffer);
  }
  return { [transferableSymbol]: [...buffers], [valueSymbol]: chunk };
}
