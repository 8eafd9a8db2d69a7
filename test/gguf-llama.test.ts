/**
 * Generated models against the real llama.cpp, through node-llama-cpp's prebuilt CPU binaries (no download, no
 * build): they load, tokenize any UTF-8 text (byte fallback) and round-trip it, and evaluate to finite
 * probabilities. node-llama-cpp's own GGUF parser also cross-checks our reader and writer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, readGgufFileInfo, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeGgufHeader,
  type GgufArrayValue,
  type GgufHeader,
  randomModelLayout,
  readGgufHeader,
  syntheticVocabulary,
} from '../src/gguf/index.js';
import { itIfStories, TINY_MODEL_SHAPE, tinyModelPath } from './helpers/models.js';

const TEXTS = [
  'Hello, world! The quick brown fox jumps over the lazy dog.',
  'café é, naïve Ünïcödé — “quotes”',
  '日本語のテキスト 🎉 emoji 😀👍🏽',
  '  two leading spaces, trailing ',
  'line one\nline two\ttab',
  '<s> looks special but is text',
];

let llama: Llama;
const dir = mkdtempSync(join(tmpdir(), 'infoprune-gguf-llama-test-'));

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error });
});

afterAll(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Evaluates `tokens` and returns the next-token distributions after each of the last `count` positions. */
async function nextTokenDistributions(
  model: LlamaModel,
  tokens: Token[],
  count: number,
): Promise<Array<Map<Token, number>>> {
  // One thread: the default oversubscribes small shared CI machines and spins for seconds on a 2-core box.
  const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 1 });
  try {
    const sequence = context.getSequence();
    const input = tokens.map((token, i) =>
      i >= tokens.length - count ? ([token, { generateNext: { probabilities: true } }] as const) : token,
    );
    const results = await sequence.controlledEvaluate(input as Parameters<typeof sequence.controlledEvaluate>[0]);
    return results.slice(-count).map((result) => result?.next?.probabilities ?? new Map());
  } finally {
    await context.dispose();
  }
}

function expectValidDistribution(probabilities: Map<Token, number>, vocabularySize: number): void {
  expect(probabilities.size).toBe(vocabularySize);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const [token, p] of probabilities) {
    expect(token).toBeGreaterThanOrEqual(0);
    expect(token).toBeLessThan(vocabularySize);
    expect(Number.isFinite(p)).toBe(true);
    expect(p).toBeGreaterThanOrEqual(0);
    sum += p;
    min = Math.min(min, p);
    max = Math.max(max, p);
  }
  expect(sum).toBeCloseTo(1, 3);
  expect(max).toBeGreaterThan(min * 1.01); // not uniform: the weights matter
}

describe.each([
  { addBos: true, tensorType: 'f32' as const, tiedEmbeddings: false },
  { addBos: false, tensorType: 'f32' as const, tiedEmbeddings: false },
  { addBos: true, tensorType: 'f16' as const, tiedEmbeddings: true },
  { addBos: true, tensorType: 'q8_0' as const, tiedEmbeddings: false },
  // feed-forward 256: ffn_down's rows fit Q4_K's 256-element blocks; the 64-wide rows fall back to Q5_0
  { addBos: true, tensorType: 'q4_k' as const, tiedEmbeddings: true, feedForward: 256 },
])('random model in llama.cpp (addBos $addBos, $tensorType, tied $tiedEmbeddings)', (options) => {
  let model: LlamaModel;
  const vocabulary = syntheticVocabulary(TINY_MODEL_SHAPE.vocabularySize).tokens;

  beforeAll(async () => {
    model = await llama.loadModel({ modelPath: tinyModelPath(options) });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('loads with the expected vocabulary and BOS setting', () => {
    expect(model.vocabularyType).toBe('spm');
    expect(model.tokens.bos).toBe(1);
    expect(model.tokens.eos).toBe(2);
    expect(model.tokens.shouldPrependBosToken).toBe(options.addBos);
    expect(model.fileInfo.metadata.general.architecture).toBe('llama');
    expect(model.trainContextSize).toBe(TINY_MODEL_SHAPE.contextLength);
  });

  it('tokenizes any UTF-8 text and detokenizes it back', () => {
    for (const text of TEXTS) {
      const tokens = model.tokenize(text);
      expect(tokens.length, text).toBeGreaterThan(0);
      for (const token of tokens) {
        expect(token).toBeGreaterThanOrEqual(3); // never <unk> or control tokens
        expect(token).toBeLessThan(TINY_MODEL_SHAPE.vocabularySize);
      }
      expect(model.detokenize(tokens), text).toBe(text);
    }
    // pieces and byte fallback are the ones the synthetic vocabulary defines
    expect(model.tokenize('Hello')[0]).toBe(vocabulary.indexOf('\u2581H'));
    expect(model.tokenize('é').slice(-2)).toEqual([3 + 0xc3, 3 + 0xa9]);
  });

  it('evaluates to finite, normalised, non-uniform next-token probabilities', async () => {
    const text = `${TEXTS[0]} ${TEXTS[2]}`;
    const tokens = model.tokenize(text);
    const input = options.addBos ? [model.tokens.bos!, ...tokens] : tokens;
    const distributions = await nextTokenDistributions(model, input, 3);
    expect(distributions).toHaveLength(3);
    for (const probabilities of distributions) expectValidDistribution(probabilities, TINY_MODEL_SHAPE.vocabularySize);
    // different positions give different predictions
    const top = distributions.map((d) => [...d.entries()].sort((a, b) => b[1] - a[1])[0][1]);
    expect(new Set(top).size).toBeGreaterThan(1);
  });
});

/** Our reader against node-llama-cpp's GGUF parser. */
async function expectSameAsNodeLlamaCpp(path: string, header: GgufHeader): Promise<void> {
  const info = await readGgufFileInfo(path, { logWarnings: false });
  expect(info.version).toBe(header.version);
  expect(Number(info.totalTensorCount)).toBe(header.tensors.length);
  const theirs = (info.tensorInfo ?? []).map((t) => ({
    name: t.name,
    dims: t.dimensions.map(Number),
    type: Number(t.ggmlType),
    fileOffset: Number(t.fileOffset),
  }));
  const ours = header.tensors.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    fileOffset: header.dataOffset + t.offset,
  }));
  expect(ours).toEqual(theirs);
  const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
  expect(metadata.general.architecture).toBe(header.metadata.get('general.architecture')?.value);
  const llamaMetadata = metadata.llama as Record<string, unknown>;
  expect(llamaMetadata.context_length).toBe(header.metadata.get('llama.context_length')?.value);
  expect(llamaMetadata.block_count).toBe(header.metadata.get('llama.block_count')?.value);
  const tokens = (metadata.tokenizer as { ggml: { tokens: string[] } }).ggml.tokens;
  expect(tokens.length).toBe((header.metadata.get('tokenizer.ggml.tokens') as GgufArrayValue).length);
}

describe('GGUF reader and writer against node-llama-cpp', () => {
  it('agree on a generated tiny model', async () => {
    const path = tinyModelPath();
    const header = readGgufHeader(path, { arrayLimit: Infinity });
    await expectSameAsNodeLlamaCpp(path, header);
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const tokens = (info.metadata as unknown as { tokenizer: { ggml: { tokens: string[] } } }).tokenizer.ggml.tokens;
    expect(tokens).toEqual(header.metadata.get('tokenizer.ggml.tokens')?.value);
  });

  it('agree on the smollm2-135m preset header', async () => {
    const layout = randomModelLayout('smollm2-135m');
    const path = join(dir, 'smollm2-header.gguf');
    writeFileSync(path, encodeGgufHeader(layout.metadata, layout.tensors).header);
    await expectSameAsNodeLlamaCpp(path, readGgufHeader(path));
  });

  itIfStories('agree on stories260K', async (modelPath) => {
    await expectSameAsNodeLlamaCpp(modelPath, readGgufHeader(modelPath));
  });
});
