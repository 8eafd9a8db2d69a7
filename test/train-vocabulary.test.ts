/**
 * The probe's vocabulary: learned deterministically, stored so that llama.cpp's own tokenizer agrees token for token
 * with our encoder on every script and whitespace edge case, and lossless (the tokens' bytes are the text's bytes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTokenizer } from '../src/engine/tokenizer.js';
import type { Tokenizer } from '../src/engine/types.js';
import { writeInitialProbe } from '../src/train/initial-model.js';
import {
  BYTE_CHARACTERS,
  countPreTokens,
  learnVocabulary,
  preTokenize,
  type Vocabulary,
  vocabularyEncoder,
} from '../src/train/vocabulary.js';
import { brownDocuments } from './fixtures/pipeline/corpus.js';
import { MULTILINGUAL_TEXTS } from './fixtures/train/multilingual.js';

let folder: string;
let vocabulary: Vocabulary;
let tokenizer: Tokenizer;
const brown = brownDocuments(20).map((document) => document.text);

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-vocabulary-'));
  // Learned from English and the multilingual texts, so merges span multi-byte characters of several scripts.
  vocabulary = learnVocabulary(countPreTokens([...brown, ...MULTILINGUAL_TEXTS, ...MULTILINGUAL_TEXTS]), 1024);
  const path = join(folder, 'probe.gguf');
  writeInitialProbe(
    path,
    { layers: 1, embedding: 32, heads: 2, kvHeads: 1, feedForward: 32, vocabularySize: 1024 },
    vocabulary,
    256,
    0,
  );
  tokenizer = openTokenizer(path);
});

afterAll(() => {
  tokenizer?.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('probe vocabulary', () => {
  it('learns the asked number of tokens, deterministically, with BOS and EOS last', () => {
    expect(vocabulary.tokens).toHaveLength(1024);
    expect(vocabulary.merges).toHaveLength(1024 - 258);
    expect(vocabulary.tokens.slice(0, 256)).toEqual(BYTE_CHARACTERS);
    expect([vocabulary.bosToken, vocabulary.eosToken]).toEqual([1022, 1023]);
    const again = learnVocabulary(countPreTokens([...brown, ...MULTILINGUAL_TEXTS, ...MULTILINGUAL_TEXTS]), 1024);
    expect(again).toEqual(vocabulary);
    expect(new Set(vocabulary.tokens).size).toBe(1024);
  });

  it('pre-tokenizes like GPT-2: contractions, a leading space per word, runs of one class, \\s+(?!\\S)', () => {
    expect(preTokenize("we're sure it'll  rain!!  ok")).toEqual([
      'we',
      "'re",
      ' sure',
      ' it',
      "'ll",
      ' ',
      ' rain',
      '!!',
      ' ',
      ' ok',
    ]);
    expect(preTokenize('abc123 x')).toEqual(['abc', '123', ' x']);
    expect(preTokenize('  ')).toEqual(['  ']);
  });

  it('llama.cpp tokenizes every multilingual and edge-case text exactly as our encoder does', async () => {
    const encode = vocabularyEncoder(vocabulary);
    for (const text of [...MULTILINGUAL_TEXTS, ...brown.slice(0, 200)]) {
      expect(Array.from(await tokenizer.tokenize(text)), text).toEqual(encode(text));
    }
  });

  it('is lossless: the tokens spell the text byte for byte', () => {
    const bytesOf = new Map(BYTE_CHARACTERS.map((character, byte) => [character, byte]));
    const encode = vocabularyEncoder(vocabulary);
    for (const text of MULTILINGUAL_TEXTS) {
      const bytes = encode(text).flatMap((id) => Array.from(vocabulary.tokens[id], (c) => bytesOf.get(c) as number));
      expect(Buffer.from(bytes).toString('utf8')).toBe(text);
    }
  });

  it('refuses a size outside its bounds', () => {
    expect(() => learnVocabulary(new Map([['a', 1]]), 100)).toThrow(/vocabularySize/);
  });
});
