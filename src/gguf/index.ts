/** GGUF support: header reader/validator, streaming writer, and random-weight llama models. */
export * from './types.js';
export * from './float16.js';
export * from './reader.js';
export * from './writer.js';
export * from './random-model.js';
