/**
 * `validateGgufFile`: the header (readGgufHeader) and everything llama.cpp checks before using tensor data (some of
 * which it answers by aborting the process), so it runs before llama.cpp ever sees a file.
 */
import { invalid } from './cursor.js';
import { checkHyperparameters } from './hparams.js';
import { describeTensor, type GgufHeader, type ReadGgufHeaderOptions, readGgufHeader } from './reader.js';
import {
  alignOffset,
  GGML_MAX_NAME,
  type GgufMetadataValue,
  type GgufValueTypeName,
  ggmlTypeInfo,
  REMOVED_GGML_TYPES,
} from './types.js';

function checkTokenizerArrays(header: GgufHeader): void {
  const describe = (entry: GgufMetadataValue): string =>
    entry.type === 'array' ? `an array of ${entry.elementType}` : `of type ${entry.type}`;
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  if (tokens === undefined) return;
  // llama.cpp reads these arrays through asserting accessors (process abort) or raw pointers (out-of-bounds reads).
  if (tokens.type !== 'array' || tokens.elementType !== 'string') {
    throw invalid(header.path, `tokenizer.ggml.tokens must be an array of strings but is ${describe(tokens)}`);
  }
  const expectations: Array<[string, GgufValueTypeName]> = [
    ['tokenizer.ggml.scores', 'float32'],
    ['tokenizer.ggml.token_type', 'int32'],
  ];
  for (const [key, elementType] of expectations) {
    const entry = header.metadata.get(key);
    if (entry === undefined) continue;
    if (entry.type !== 'array' || entry.elementType !== elementType) {
      throw invalid(header.path, `${key} must be an array of ${elementType} but is ${describe(entry)}`);
    }
    if (entry.length !== tokens.length) {
      throw invalid(header.path, `${key} has ${entry.length} entries but tokenizer.ggml.tokens has ${tokens.length}`);
    }
  }
  const merges = header.metadata.get('tokenizer.ggml.merges');
  if (merges !== undefined && (merges.type !== 'array' || merges.elementType !== 'string')) {
    throw invalid(header.path, `tokenizer.ggml.merges must be an array of strings but is ${describe(merges)}`);
  }
}

/**
 * Reads the header (readGgufHeader) and checks everything llama.cpp checks before using tensor data, throwing an
 * Error naming the path on the first problem: nested metadata arrays, keys or tensor names containing NUL, wrongly
 * typed tokenizer arrays, a non-string general.architecture, tensor names too long or duplicated, unknown or removed
 * ggml types, rows not a multiple of the type's block size, data offsets that are misaligned, overlapping or not
 * contiguous, tensor data extending past the end of the file (a truncated download), and hyperparameters llama.cpp
 * would abort on (src/gguf/hparams.ts). Returns the header.
 */
export function validateGgufFile(path: string, options: ReadGgufHeaderOptions = {}): GgufHeader {
  const header = readGgufHeader(path, options);
  const fail = (message: string): never => {
    throw invalid(path, message);
  };

  for (const [key, entry] of header.metadata) {
    // llama.cpp looks keys up with strcmp: a NUL would make this key shadow another one.
    if (key.includes('\0')) fail(`metadata key ${JSON.stringify(key)} contains a NUL byte`);
    if (entry.type === 'array' && entry.elementType === 'array') {
      fail(`metadata ${JSON.stringify(key)} is an array of arrays, which llama.cpp does not support`);
    }
  }
  const architecture = header.metadata.get('general.architecture');
  if (architecture !== undefined && architecture.type !== 'string') {
    fail(`general.architecture must be a string but is of type ${architecture.type}`);
  }
  checkTokenizerArrays(header);
  checkHyperparameters(header);

  const names = new Set<string>();
  let expectedOffset = 0;
  for (const tensor of header.tensors) {
    const where = describeTensor(tensor);
    if (Buffer.byteLength(tensor.name, 'utf8') >= GGML_MAX_NAME) {
      fail(
        `${where} has a name of ${Buffer.byteLength(tensor.name, 'utf8')} bytes; ggml allows at most ${GGML_MAX_NAME - 1}`,
      );
    }
    if (tensor.name.includes('\0')) fail(`${where} has a name containing a NUL byte`);
    if (names.has(tensor.name)) fail(`duplicate tensor name ${JSON.stringify(tensor.name)}`);
    names.add(tensor.name);
    const info = ggmlTypeInfo(tensor.type);
    if (!info) {
      const removed = REMOVED_GGML_TYPES.get(tensor.type);
      fail(
        removed
          ? `tensor ${JSON.stringify(tensor.name)} uses ggml type ${tensor.type} (${removed}), which has been removed from ggml`
          : `tensor ${JSON.stringify(tensor.name)} has unknown ggml type ${tensor.type}`,
      );
    }
    const byteSize = tensor.byteSize;
    if (byteSize === undefined) {
      fail(
        `${where} has rows of ${tensor.dims[0]} elements, not a multiple of the ${info!.name} block size ${info!.blockSize}`,
      );
    }
    if (tensor.offset % header.alignment !== 0) {
      fail(`${where} has data offset ${tensor.offset}, not a multiple of the alignment ${header.alignment}`);
    }
    if (tensor.offset < expectedOffset) {
      fail(
        `${where} has data offset ${tensor.offset}, which overlaps the previous tensor's data (expected offset ${expectedOffset})`,
      );
    }
    if (tensor.offset > expectedOffset) {
      fail(
        `${where} has data offset ${tensor.offset}, expected ${expectedOffset}: tensors must be stored contiguously in order`,
      );
    }
    const end = header.dataOffset + tensor.offset + byteSize!;
    if (end > header.fileSize) {
      fail(
        `tensor data is truncated: ${where} needs bytes up to offset ${end} but the file has only ${header.fileSize} bytes ` +
          `(missing ${end - header.fileSize} bytes; the file is incomplete, e.g. an interrupted download or copy)`,
      );
    }
    expectedOffset = alignOffset(tensor.offset + byteSize!, header.alignment);
  }
  return header;
}
