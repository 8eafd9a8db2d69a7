/** GGUF support: header reader/validator, streaming writer, and random-weight llama models. */

export * from './float16.js';
export * from './random-model.js';
export * from './reader.js';
export * from './types.js';
export * from './writer.js';
