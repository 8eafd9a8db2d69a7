/** GGUF support (internal barrel): header reader and validator, encoder and streaming writer, random-weight llama models. */
export * from './encode.js';
export * from './float16.js';
export * from './random-model.js';
export * from './reader.js';
export * from './types.js';
export * from './validate.js';
export * from './writer.js';
