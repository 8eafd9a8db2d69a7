/**
 * The benchmark's models: a GGUF given by --model, or random-weight llama models of realistic shape generated once
 * into .cache/bench-models/ (random weights cost exactly what trained ones of the same shape and tensor type do).
 */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ensureRandomModel,
  MODEL_PRESETS,
  type ModelPresetName,
  type ModelTensorType,
  RANDOM_MODEL_GENERATOR_VERSION,
} from '../src/gguf/random-model.js';
import { validateGgufFile } from '../src/gguf/validate.js';

export interface BenchModel {
  /** Preset name, or the file's name for --model. */
  name: string;
  path: string;
  preset: ModelPresetName | null;
  /** The generated model's tensor type; null for --model. */
  tensorType: ModelTensorType | null;
  sizeBytes: number;
  /** Whether the file was generated in this run (the time is not part of any figure). */
  generated: boolean;
}

export function benchModelCacheDir(root: string): string {
  return join(root, '.cache', 'bench-models');
}

/** The cached random model of a preset, generated on first use (atomically: a half-written file is never used). */
export function presetModel(
  root: string,
  preset: ModelPresetName,
  tensorType: ModelTensorType,
  log: (line: string) => void,
): BenchModel {
  const dir = benchModelCacheDir(root);
  const path = join(dir, `${preset}-${tensorType}-g${RANDOM_MODEL_GENERATOR_VERSION}.gguf`);
  const started = performance.now();
  const generated = ensureRandomModel(
    path,
    { ...MODEL_PRESETS[preset], tensorType },
    { seed: 0, name: `infoprune-bench-${preset}` },
  );
  if (generated)
    log(
      `generated ${basename(path)} (random weights, seed 0) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  return { name: preset, path, preset, tensorType, sizeBytes: statSync(path).size, generated };
}

export function givenModel(path: string): BenchModel {
  validateGgufFile(path);
  return {
    name: basename(path),
    path,
    preset: null,
    tensorType: null,
    sizeBytes: statSync(path).size,
    generated: false,
  };
}
