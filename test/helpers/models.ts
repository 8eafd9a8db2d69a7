/**
 * Model fixtures for tests: tiny random GGUF models generated on demand (cached in the OS temp folder), and the
 * shared trained stories260K model when the shared/ folder beside the checkout has it (never copied anywhere).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import {
  ensureRandomModel,
  RANDOM_MODEL_GENERATOR_VERSION,
  type RandomModelShape,
  resolveModelShape,
} from '../../src/gguf/random-model.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Default shape of tinyModelPath(): 2 blocks, width 64, 512-token vocabulary, about 140k parameters (570 kB). */
export const TINY_MODEL_SHAPE = {
  layers: 2,
  embedding: 64,
  heads: 4,
  kvHeads: 2,
  feedForward: 128,
  vocabularySize: 512,
  contextLength: 256,
} as const satisfies RandomModelShape;

export interface TinyModelOptions extends Partial<RandomModelShape> {
  /** PRNG seed (default 0). */
  seed?: number;
}

export const TEST_MODEL_CACHE_DIR = join(tmpdir(), 'infoprune-test-models');

const generated = new Map<string, string>();

/**
 * Path of a random model with TINY_MODEL_SHAPE overridden by `options` (e.g. `{ addBos: false }`), generated once and
 * cached as `<tmpdir>/infoprune-test-models/<hash>.gguf`. Safe when test processes race: each writes its own
 * temporary file and renames it into place (identical bytes either way).
 */
export function tinyModelPath(options: TinyModelOptions = {}): string {
  const { seed = 0, ...overrides } = options;
  const shape = resolveModelShape({ ...TINY_MODEL_SHAPE, ...overrides });
  const key = createHash('sha256')
    .update(JSON.stringify({ generator: RANDOM_MODEL_GENERATOR_VERSION, shape, seed }))
    .digest('hex')
    .slice(0, 16);
  const cached = generated.get(key);
  if (cached) return cached;
  const path = join(TEST_MODEL_CACHE_DIR, `${key}.gguf`);
  ensureRandomModel(path, shape, { seed, name: `infoprune-test-${key}` });
  generated.set(key, path);
  return path;
}

export const STORIES_MODEL_RELATIVE_PATH = '../shared/models/stories260K.gguf';
export const STORIES_MODEL_SKIP_MESSAGE = `skipped: ${STORIES_MODEL_RELATIVE_PATH} not found`;

/** The shared trained stories260K model (llama, 512-token vocabulary, context 2048), or null when absent. */
export function storiesModelPath(): string | null {
  const path = resolve(REPO_ROOT, STORIES_MODEL_RELATIVE_PATH);
  return existsSync(path) ? path : null;
}

/**
 * `describe` for tests that need stories260K: runs `body(path)` when the model exists, otherwise registers a skipped
 * suite whose name says why ("... (skipped: ../shared/models/stories260K.gguf not found)").
 */
export function describeIfStories(name: string, body: (modelPath: string) => void): void {
  const path = storiesModelPath();
  if (path !== null) {
    describe(name, () => body(path));
  } else {
    describe.skip(`${name} (${STORIES_MODEL_SKIP_MESSAGE})`, () => {
      it(STORIES_MODEL_SKIP_MESSAGE, () => {});
    });
  }
}

/** `it` for a single test that needs stories260K, skipped with the reason in its name when absent. */
export function itIfStories(name: string, body: (modelPath: string) => void | Promise<void>, timeout?: number): void {
  const path = storiesModelPath();
  if (path !== null) it(name, () => body(path), timeout);
  else it.skip(`${name} (${STORIES_MODEL_SKIP_MESSAGE})`, () => {});
}
