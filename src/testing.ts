/**
 * `infoprune/testing`: random-weight GGUF models for tests and benchmarks (any llama shape, deterministic from a
 * seed, a synthetic vocabulary that tokenizes any UTF-8), and the GGUF writer they are made with. Not part of the
 * main entry: nothing here is needed to score or prune.
 */
export {
  type GgufTensorSource,
  ggufArray,
  ggufBool,
  ggufFloat32,
  ggufFloat64,
  ggufInt8,
  ggufInt16,
  ggufInt32,
  ggufInt64,
  ggufString,
  ggufUint8,
  ggufUint16,
  ggufUint32,
  ggufUint64,
} from './gguf/encode.js';
export {
  ensureRandomModel,
  MODEL_PRESET_NAMES,
  MODEL_PRESETS,
  type ModelPresetName,
  type ModelTensorType,
  RANDOM_MODEL_GENERATOR_VERSION,
  type RandomModelOptions,
  type RandomModelResult,
  type RandomModelShape,
  randomModelParameterCount,
  resolveModelShape,
  writeRandomModel,
} from './gguf/random-model.js';
export { readTensorBytes, readTensorFloat32 } from './gguf/reader.js';
export { type WriteGgufOptions, type WriteGgufResult, writeGguf } from './gguf/writer.js';
