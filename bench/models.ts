/**
 * The benchmark's models: a GGUF given by --model, or random-weight llama models of realistic shape generated once
 * into .cache/bench-models/ (random weights cost exactly what trained ones of the same shape and tensor type do).
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MODEL_PRESETS, RANDOM_MODEL_GENERATOR_VERSION, writeRandomModel, type ModelPresetName, type ModelTensorType } from '../src/gguf/random-model.js';
import { validateGgufFile } from '../src/gguf/reader.js';

export interface BenchModel {
  /** Preset name, or the file's name for --model. */
  name: string;
  path: string;
  preset: ModelPresetName | null;
  sizeBytes: number;
  /** Whether the file was generated in this run (the time is not part of any figure). */
  generated: boolean;
}

export function benchModelCacheDir(root: string): string {
  return join(root, '.cache', 'bench-models');
}

/** The cached random model of a preset, generated on first use (atomically: a half-written file is never used). */
export function presetModel(root: string, preset: ModelPresetName, tensorType: ModelTensorType, log: (line: string) => void): BenchModel {
  const dir = benchModelCacheDir(root);
  const path = join(dir, `${preset}-${tensorType}-g${RANDOM_MODEL_GENERATOR_VERSION}.gguf`);
  let generated = false;
  let valid = false;
  if (existsSync(path)) {
    try {
      validateGgufFile(path);
      valid = true;
    } catch {
      // damaged cache entry: regenerate
    }
  }
  if (!valid) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    log(`generating ${basename(path)} (random weights, seed 0) ...`);
    const started = performance.now();
    try {
      writeRandomModel(temporary, { ...MODEL_PRESETS[preset], tensorType }, { seed: 0, name: `infoprune-bench-${preset}` });
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
    log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    generated = true;
  }
  return { name: preset, path, preset, sizeBytes: statSync(path).size, generated };
}

export function givenModel(path: string): BenchModel {
  validateGgufFile(path);
  return { name: basename(path), path, preset: null, sizeBytes: statSync(path).size, generated: false };
}
