/**
 * openTokenizer(): a vocabulary-only load of a model (no weights, milliseconds), synchronous, usable in worker
 * threads. It tokenizes exactly like the scorer: special-token parsing off, no BOS.
 */
import { validateGgufFile } from '../gguf/validate.js';
import { expectString } from '../util/validate.js';
import { nativeBinding } from './native.js';
import type { Tokenizer } from './types.js';

export function openTokenizer(modelPath: string): Tokenizer {
  expectString('model', modelPath, { nonEmpty: true });
  validateGgufFile(modelPath);
  const model = nativeBinding().loadModelSync(modelPath, { gpuLayers: 0, vocabOnly: true });
  const info = model.info();
  let closed = false;
  return {
    vocabularySize: info.vocabularySize,
    addsBos: info.addsBos,
    tokenize(text: string): Int32Array {
      if (closed) throw new Error('Cannot call tokenize() on a closed tokenizer');
      return model.tokenize(expectString('text', text));
    },
    close(): void {
      if (closed) return;
      closed = true;
      model.dispose();
    },
  };
}
