/**
 * GGUF header reader. It reads only the header region, in chunks through a file descriptor (models can be many GB),
 * checks every length and count against the bytes left in the file (src/gguf/cursor.ts), and throws an
 * InfopruneError naming the path on anything malformed: MODEL_NOT_FOUND, or MODEL_INVALID. `validateGgufFile`
 * (src/gguf/validate.ts) adds the checks llama.cpp makes before it touches tensor data.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { InfopruneError } from '../errors.js';
import { expectInteger, expectObject, expectString } from '../util/validate.js';
import {
  formatBytesForMessage,
  HeaderCursor,
  invalid,
  MIN_KV_BYTES,
  MIN_TENSOR_INFO_BYTES,
  readValue,
} from './cursor.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './float16.js';
import {
  alignOffset,
  GGML_MAX_DIMS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufMetadataValue,
  ggmlTensorByteSize,
  ggmlTypeName,
} from './types.js';

export interface GgufTensorInfo {
  /** Position in the file's tensor list. */
  index: number;
  name: string;
  /** Dimensions, innermost (row length) first, as GGUF stores them. */
  dims: number[];
  /** ggml type id (0 = F32, 1 = F16, ...). */
  type: number;
  /** `F32`, `Q4_K`, ... or `unknown type 99`. */
  typeName: string;
  /** Byte offset of the data relative to `GgufHeader.dataOffset`. */
  offset: number;
  elementCount: number;
  /** Bytes of tensor data; undefined when the type is unknown or the row length is not a multiple of its block size. */
  byteSize: number | undefined;
}

export interface GgufHeader {
  path: string;
  fileSize: number;
  /** GGUF version (2 or 3). */
  version: number;
  tensorCount: number;
  /** Metadata in file order. Arrays longer than the `arrayLimit` option keep only their element type and length. */
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  /** general.alignment, or 32 when absent. */
  alignment: number;
  /** File offset just past the last tensor info. */
  headerSize: number;
  /** File offset where tensor data starts: headerSize rounded up to the alignment. */
  dataOffset: number;
}

export interface ReadGgufHeaderOptions {
  /**
   * Arrays with more elements than this keep only their element type and length (`value` undefined).
   * Default 1024; pass Infinity to keep every array (a 150k-token vocabulary costs a few MB).
   */
  arrayLimit?: number;
}

export function openRegularFile(path: string): { fd: number; size: number } {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InfopruneError('MODEL_NOT_FOUND', `Model file not found: ${path}`);
    if (code === 'ENOTDIR') {
      throw new InfopruneError('MODEL_NOT_FOUND', `Model file not found: ${path} (a parent of it is not a directory)`);
    }
    throw new Error(`Cannot read model file ${path}: ${(error as Error).message}`);
  }
  if (stats.isDirectory()) {
    throw new InfopruneError('MODEL_NOT_FOUND', `Model path is a directory, not a GGUF file: ${path}`);
  }
  // A FIFO or device would block or never end: only regular files are read.
  if (!stats.isFile()) throw new InfopruneError('MODEL_INVALID', `Model path is not a regular file: ${path}`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`Cannot open model file ${path}: ${(error as Error).message}`);
  }
  try {
    return { fd, size: fstatSync(fd).size };
  } catch (error) {
    closeSync(fd);
    throw new Error(`Cannot read model file ${path}: ${(error as Error).message}`);
  }
}

/** The header's steps, in file order: preamble (magic, version, counts), metadata, alignment, tensor infos. */
function parseHeader(cursor: HeaderCursor, arrayLimit: number): GgufHeader {
  const { version, tensorCount, kvCount } = parsePreamble(cursor);
  const metadata = parseMetadata(cursor, kvCount, arrayLimit);
  const alignment = parseAlignment(cursor, metadata);
  const tensors = parseTensorInfos(cursor, tensorCount);
  const headerSize = cursor.position;
  return {
    path: cursor.path,
    fileSize: cursor.fileSize,
    version,
    tensorCount,
    metadata,
    tensors,
    alignment,
    headerSize,
    dataOffset: alignOffset(headerSize, alignment),
  };
}

function parsePreamble(cursor: HeaderCursor): { version: number; tensorCount: number; kvCount: number } {
  const { path, fileSize } = cursor;
  if (fileSize < 4) {
    throw new InfopruneError(
      'MODEL_INVALID',
      `Not a GGUF file: ${path} (the file is ${fileSize} bytes long, too short for the 4-byte magic "GGUF")`,
    );
  }
  const magic = Buffer.from(cursor.bytes(4, 'the magic'));
  if (!magic.equals(GGUF_MAGIC)) {
    throw new InfopruneError(
      'MODEL_INVALID',
      `Not a GGUF file: ${path} (expected magic bytes ${formatBytesForMessage(GGUF_MAGIC)}, found ${formatBytesForMessage(magic)})`,
    );
  }
  const version = cursor.u32('the version');
  if (version !== 2 && version !== 3) throw unsupportedVersion(path, version);
  cursor.context = 'the file header';
  const tensorCount = cursor.count(
    'the tensor count',
    Math.floor(cursor.remaining / MIN_TENSOR_INFO_BYTES),
    `the file has only ${fileSize} bytes and each tensor info takes at least ${MIN_TENSOR_INFO_BYTES}`,
  );
  const kvCount = cursor.count(
    'the metadata entry count',
    Math.max(0, Math.floor((cursor.remaining - 8 - tensorCount * MIN_TENSOR_INFO_BYTES) / MIN_KV_BYTES)),
    `the file has only ${fileSize} bytes, each metadata entry takes at least ${MIN_KV_BYTES} and the ${tensorCount} tensor infos at least ${MIN_TENSOR_INFO_BYTES} each`,
  );
  return { version, tensorCount, kvCount };
}

function unsupportedVersion(path: string, version: number): InfopruneError {
  if (version !== 0 && (version & 0xffff) === 0) {
    return new InfopruneError(
      'MODEL_INVALID',
      `Unsupported GGUF file ${path}: it appears to be big-endian (version field ${version}), only little-endian GGUF is supported`,
    );
  }
  if (version === 1) {
    return new InfopruneError(
      'MODEL_INVALID',
      `Unsupported GGUF version 1 in ${path}: GGUF v1 is obsolete, only versions 2 and 3 are supported`,
    );
  }
  return new InfopruneError(
    'MODEL_INVALID',
    `Unsupported GGUF version ${version} in ${path}: only versions 2 and 3 are supported`,
  );
}

function parseMetadata(cursor: HeaderCursor, kvCount: number, arrayLimit: number): Map<string, GgufMetadataValue> {
  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < kvCount; i++) {
    cursor.context = `metadata entry ${i}`;
    const key = cursor.string('the key');
    cursor.context = `metadata entry ${i} (${JSON.stringify(key)})`;
    if (metadata.has(key)) cursor.fail(`duplicate metadata key ${JSON.stringify(key)} (entry ${i})`);
    const type = cursor.valueType('the value type');
    metadata.set(key, readValue(cursor, type, arrayLimit));
  }
  return metadata;
}

function parseAlignment(cursor: HeaderCursor, metadata: Map<string, GgufMetadataValue>): number {
  const alignmentEntry = metadata.get('general.alignment');
  if (alignmentEntry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  // llama.cpp reads this key with gguf_get_val_u32, which aborts the process on any other type.
  if (alignmentEntry.type !== 'uint32') {
    cursor.fail(`general.alignment must be of type uint32 but is of type ${alignmentEntry.type}`);
  }
  const value = alignmentEntry.value;
  if (value === 0 || (value & (value - 1)) !== 0) cursor.fail(`general.alignment is ${value}, not a power of 2`);
  return value;
}

function parseTensorInfos(cursor: HeaderCursor, tensorCount: number): GgufTensorInfo[] {
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    cursor.context = `tensor info ${i}`;
    const name = cursor.string('the tensor name');
    cursor.context = `tensor info ${i} (${JSON.stringify(name)})`;
    const dimCount = cursor.u32('the number of dimensions');
    if (dimCount > GGML_MAX_DIMS)
      cursor.fail(`${cursor.context} has ${dimCount} dimensions, more than ggml's maximum of ${GGML_MAX_DIMS}`);
    const dims: number[] = [];
    let elementCount = 1;
    for (let d = 0; d < dimCount; d++) {
      const dim = cursor.count(`dimension ${d}`, Number.MAX_SAFE_INTEGER, `more than 2^53 elements`);
      dims.push(dim);
      elementCount *= dim;
    }
    if (elementCount > Number.MAX_SAFE_INTEGER) {
      cursor.fail(`${cursor.context} has shape [${dims.join(', ')}], an absurd ${elementCount} elements`);
    }
    const type = cursor.u32('the ggml type');
    const offset = cursor.count('the data offset', Number.MAX_SAFE_INTEGER, `more than 2^53 bytes`);
    tensors.push({
      index: i,
      name,
      dims,
      type,
      typeName: ggmlTypeName(type),
      offset,
      elementCount,
      byteSize: ggmlTensorByteSize(type, dims),
    });
  }
  return tensors;
}

/**
 * Parses the header of a GGUF v2/v3 file: metadata, tensor infos, alignment and data offset. Reads only the header
 * region. Throws an Error naming the path when the file is missing, a directory, not GGUF, of an unsupported version,
 * truncated within the header, or holds absurd counts or lengths. Does not look at tensor data: see validateGgufFile.
 */
export function readGgufHeader(path: string, options: ReadGgufHeaderOptions = {}): GgufHeader {
  expectString('path', path, { nonEmpty: true });
  expectObject('options', options);
  const arrayLimit = options.arrayLimit ?? 1024;
  if (arrayLimit !== Infinity) expectInteger('options.arrayLimit', arrayLimit, 0);
  const { fd, size } = openRegularFile(path);
  try {
    return parseHeader(new HeaderCursor(fd, path, size), arrayLimit);
  } finally {
    closeSync(fd);
  }
}

export function describeTensor(tensor: GgufTensorInfo): string {
  return `tensor ${JSON.stringify(tensor.name)} (${tensor.typeName} [${tensor.dims.join(', ')}])`;
}

/** The plain value of a scalar metadata entry (number, bigint, boolean or string); undefined when absent or an array. */
export function ggufMetadataScalar(header: GgufHeader, key: string): number | bigint | boolean | string | undefined {
  const entry = header.metadata.get(key);
  if (entry === undefined || entry.type === 'array') return undefined;
  return entry.value;
}

/** A numeric metadata value as a number (64-bit integers converted when exactly representable), else undefined. */
export function ggufMetadataNumber(header: GgufHeader, key: string): number | undefined {
  const value = ggufMetadataScalar(header, key);
  if (typeof value === 'number') return value;
  if (
    typeof value === 'bigint' &&
    value <= BigInt(Number.MAX_SAFE_INTEGER) &&
    value >= BigInt(Number.MIN_SAFE_INTEGER)
  ) {
    return Number(value);
  }
  return undefined;
}

export function ggufMetadataString(header: GgufHeader, key: string): string | undefined {
  const value = ggufMetadataScalar(header, key);
  return typeof value === 'string' ? value : undefined;
}

export interface ModelDescription {
  architecture: string | undefined;
  name: string | undefined;
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  blockCount: number | undefined;
  feedForwardLength: number | undefined;
  headCount: number | undefined;
  headCountKv: number | undefined;
  /** Length of tokenizer.ggml.tokens, else `<arch>.vocab_size`. */
  vocabularySize: number | undefined;
  /** Sum of the element counts of all tensors. */
  parameterCount: number;
  tensorCount: number;
  fileSize: number;
}

/** Summarises a model header from its `<architecture>.*`, general.* and tokenizer metadata. */
export function describeModel(header: GgufHeader): ModelDescription {
  const architecture = ggufMetadataString(header, 'general.architecture');
  const archNumber = (suffix: string): number | undefined =>
    architecture === undefined ? undefined : ggufMetadataNumber(header, `${architecture}.${suffix}`);
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  const vocabularySize = tokens?.type === 'array' ? tokens.length : archNumber('vocab_size');
  let parameterCount = 0;
  for (const tensor of header.tensors) parameterCount += tensor.elementCount;
  return {
    architecture,
    name: ggufMetadataString(header, 'general.name'),
    contextLength: archNumber('context_length'),
    embeddingLength: archNumber('embedding_length'),
    blockCount: archNumber('block_count'),
    feedForwardLength: archNumber('feed_forward_length'),
    headCount: archNumber('attention.head_count'),
    headCountKv: archNumber('attention.head_count_kv'),
    vocabularySize,
    parameterCount,
    tensorCount: header.tensors.length,
    fileSize: header.fileSize,
  };
}

function findTensor(header: GgufHeader, tensor: string | GgufTensorInfo): GgufTensorInfo {
  if (typeof tensor !== 'string') return tensor;
  const found = header.tensors.find((t) => t.name === tensor);
  if (!found) throw new Error(`Tensor ${JSON.stringify(tensor)} not found in ${header.path}`);
  return found;
}

/** Reads the raw bytes of one tensor (bounds-checked against the file size). */
export function readTensorBytes(header: GgufHeader, tensor: string | GgufTensorInfo): Buffer {
  const info = findTensor(header, tensor);
  if (info.byteSize === undefined) throw invalid(header.path, `${describeTensor(info)} has an unknown size`);
  const start = header.dataOffset + info.offset;
  const { fd, size } = openRegularFile(header.path);
  try {
    if (start + info.byteSize > size) {
      throw invalid(
        header.path,
        `tensor data is truncated: ${describeTensor(info)} needs bytes up to offset ${start + info.byteSize} but the file has only ${size} bytes`,
      );
    }
    const buffer = Buffer.alloc(info.byteSize);
    let got = 0;
    while (got < info.byteSize) {
      const read = readSync(fd, buffer, got, info.byteSize - got, start + got);
      if (read === 0) throw invalid(header.path, `the file ended while reading ${describeTensor(info)}`);
      got += read;
    }
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** Reads an F32, F16 or BF16 tensor as 32-bit floats. */
export function readTensorFloat32(header: GgufHeader, tensor: string | GgufTensorInfo): Float32Array {
  const info = findTensor(header, tensor);
  const bytes = readTensorBytes(header, info);
  const out = new Float32Array(info.elementCount);
  if (info.typeName === 'F32') {
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  } else if (info.typeName === 'F16') {
    for (let i = 0; i < out.length; i++) out[i] = float16BitsToFloat32(bytes.readUInt16LE(i * 2));
  } else if (info.typeName === 'BF16') {
    for (let i = 0; i < out.length; i++) out[i] = bfloat16BitsToFloat32(bytes.readUInt16LE(i * 2));
  } else {
    throw new Error(
      `readTensorFloat32 supports F32, F16 and BF16 tensors; ${describeTensor(info)} in ${header.path} is not one`,
    );
  }
  return out;
}
