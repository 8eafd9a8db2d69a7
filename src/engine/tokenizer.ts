/**
 * openTokenizer(): a vocabulary-only load of a model (no weights, milliseconds), usable in worker threads. It
 * tokenizes exactly like the scorer: special-token parsing off, no BOS. `tokenize` runs on libuv's thread pool;
 * `tokenizeSync` on the calling thread, which is what the pipeline's worker threads want.
 */
import { validateGgufFile } from '../gguf/validate.js';
import { expectObject, expectSignal, expectString } from '../util/validate.js';
import { closedError, InFlight } from './abort.js';
import { nativeBinding } from './native.js';
import type { Tokenizer } from './types.js';

export function openTokenizer(modelPath: string): Tokenizer {
  expectString('model', modelPath, { nonEmpty: true });
  validateGgufFile(modelPath);
  const model = nativeBinding().loadModelSync(modelPath, { gpuLayers: 0, vocabOnly: true });
  const info = model.info();
  const inFlight = new InFlight();
  let closed = false;
  const assertOpen = (method: string) => {
    if (closed) throw new Error(`Cannot call ${method}() on a closed tokenizer`);
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    inFlight.closeAll(() => closedError('tokenizer'));
    model.dispose();
  };
  return {
    vocabularySize: info.vocabularySize,
    addsBos: info.addsBos,
    async tokenize(text: string, options?: { signal?: AbortSignal }): Promise<Int32Array> {
      assertOpen('tokenize');
      expectString('text', text);
      const signal =
        options === undefined ? undefined : expectSignal('signal', expectObject('options', options).signal);
      const [tokens] = await inFlight.track(model.tokenizeTexts([text]), signal);
      return tokens;
    },
    tokenizeSync(text: string): Int32Array {
      assertOpen('tokenizeSync');
      return model.tokenize(expectString('text', text));
    },
    close,
    [Symbol.dispose]: close,
    async [Symbol.asyncDispose]() {
      close();
    },
  };
}
