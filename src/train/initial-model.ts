/**
 * The probe before training: a llama-architecture GGUF with the learned vocabulary and seeded random weights, all
 * F32 (llama.cpp trains only F32) with untied embeddings (llama.cpp's trainer cannot train a tied output layer; see
 * native/trainer.hpp). The trainer then sets its embeddings from the corpus's bigram statistics.
 */
import { ggufString } from '../gguf/encode.js';
import { randomModelLayout } from '../gguf/random-model.js';
import { writeGguf } from '../gguf/writer.js';
import type { ProbeShape } from './options.js';
import { type Vocabulary, vocabularyMetadata } from './vocabulary.js';

export interface InitialProbe {
  parameterCount: number;
}

export function writeInitialProbe(
  path: string,
  shape: ProbeShape,
  vocabulary: Vocabulary,
  contextSize: number,
  seed: number,
): InitialProbe {
  const layout = randomModelLayout(
    {
      layers: shape.layers,
      embedding: shape.embedding,
      heads: shape.heads,
      kvHeads: shape.kvHeads,
      feedForward: shape.feedForward,
      vocabularySize: vocabulary.tokens.length,
      contextLength: contextSize,
      tensorType: 'f32',
      addBos: true,
      tiedEmbeddings: false,
    },
    { seed, name: 'infoprune probe' },
  );
  for (const key of [...layout.metadata.keys()]) if (key.startsWith('tokenizer.')) layout.metadata.delete(key);
  for (const [key, value] of vocabularyMetadata(vocabulary)) layout.metadata.set(key, value);
  layout.metadata.set('general.description', ggufString('a data probe trained by infoprune on the corpus it scores'));
  writeGguf(path, layout.metadata, layout.tensors);
  return { parameterCount: layout.parameterCount };
}
