/**
 * Typed access to the fake engine (test/fixtures/pipeline/fake-engine.mjs): a deterministic scorer and tokenizer
 * that let the pipeline be tested without the native addon. The implementation is plain JS because worker threads
 * and child processes load it too (they cannot load TypeScript).
 */
import { fileURLToPath } from 'node:url';
import type { ScoreResult, Scorer, Tokenizer } from '../../src/engine/types.js';
import type { TokenizerModule } from '../../src/pipeline/options.js';
// @ts-expect-error: a plain JS module without type declarations (typed below).
import * as fake from '../fixtures/pipeline/fake-engine.mjs';

export interface FakeScorerOptions {
  addsBos?: boolean;
  /** Results depend on the size of the call a document was scored in (like batch-dependent arithmetic). */
  batchSensitive?: boolean;
  /** Simulated engine time per token. */
  secondsPerToken?: number;
  contextSize?: number;
  batchSize?: number;
  maxSequences?: number;
  modelPath?: string;
}

export type FakeScorer = Scorer & { readonly calls: number[][]; readonly closed: boolean };

export const createFakeScorer = fake.createFakeScorer as (options?: FakeScorerOptions) => FakeScorer;
export const fakeTokenize = fake.fakeTokenize as (text: string) => Int32Array;
export const openFakeTokenizer = fake.openFakeTokenizer as (modelPath: string) => Tokenizer;
export const fakeScore = fake.fakeScore as (
  tokens: Int32Array,
  bytes: number,
  options?: { addsBos?: boolean; logprobs?: boolean },
) => ScoreResult;

export const FAKE_ENGINE_URL = new URL('../fixtures/pipeline/fake-engine.mjs', import.meta.url).href;
/** For `tokenizerModule`: worker threads tokenize with the fake. */
export const FAKE_TOKENIZER_MODULE: TokenizerModule = { url: FAKE_ENGINE_URL, exportName: 'openFakeTokenizer' };
/** A file to pass as `model` (the fake ignores it; the pipeline checks it exists and hashes it). */
export const FAKE_MODEL_PATH = fileURLToPath(new URL('../fixtures/pipeline/fake-model.gguf', import.meta.url));
