/**
 * GGUF header reader and validator. It reads only the header region, in chunks through a file descriptor (models can
 * be many GB), checks every length and count against the bytes left in the file, and throws an Error naming the path
 * on anything malformed. `validateGgufFile` adds the checks llama.cpp makes before it touches tensor data (some of
 * which it answers by aborting the process), so it runs before llama.cpp ever sees a file.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { expectInteger, expectObject, expectString } from '../validate.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './float16.js';
import {
  alignOffset,
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPES,
  type GgufArrayValue,
  type GgufMetadataValue,
  type GgufValueTypeName,
  ggmlTensorByteSize,
  ggmlTypeInfo,
  ggmlTypeName,
  ggufScalarSize,
  REMOVED_GGML_TYPES,
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

const CHUNK_SIZE = 1 << 20;
/** No GGUF string (key, tensor name, chat template, token) is anywhere near this long. */
const MAX_STRING_BYTES = 64 << 20;
/** Nested arrays are not valid GGUF for llama.cpp; the reader tolerates a little nesting, never unbounded. */
const MAX_ARRAY_NESTING = 4;
/** Smallest possible encoded key/value pair: key length (8), value type (4), a 1-byte value. */
const MIN_KV_BYTES = 13;
/** Smallest possible encoded tensor info: name length (8), n_dims (4), type (4), offset (8). */
const MIN_TENSOR_INFO_BYTES = 24;

function invalid(path: string, message: string): Error {
  return new Error(`Invalid GGUF file ${path}: ${message}`);
}

function formatBytesForMessage(bytes: Buffer): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `"${text}" (${hex})`;
}

/** Reads forward through the header region, buffering CHUNK_SIZE bytes at a time, with bounds checks. */
class HeaderCursor {
  private storage: Buffer = Buffer.alloc(0);
  private loadedStart = 0;
  private loadedLength = 0;
  position = 0;
  /** What is being parsed, for error messages: `metadata entry 3 ("general.name")`. */
  context = 'the file header';

  constructor(
    private readonly fd: number,
    readonly path: string,
    readonly fileSize: number,
  ) {}

  get remaining(): number {
    return this.fileSize - this.position;
  }

  fail(message: string): never {
    throw invalid(this.path, message);
  }

  /** Makes bytes [position, position + n) available; returns the index of `position` in `storage`. */
  private ensure(n: number, what: string): number {
    const end = this.position + n;
    if (end > this.fileSize) {
      this.fail(
        `the header is truncated: reading ${what} of ${this.context} needs ${n} bytes at offset ${this.position}, ` +
          `but the file has only ${this.fileSize} bytes`,
      );
    }
    if (this.position >= this.loadedStart && end <= this.loadedStart + this.loadedLength) {
      return this.position - this.loadedStart;
    }
    const size = Math.min(Math.max(n, CHUNK_SIZE), this.fileSize - this.position);
    if (this.storage.length < size) this.storage = Buffer.allocUnsafe(Math.max(size, CHUNK_SIZE));
    let got = 0;
    while (got < size) {
      const read = readSync(this.fd, this.storage, got, size - got, this.position + got);
      if (read === 0) {
        this.fail(
          `the file ended at byte ${this.position + got} while reading ${what} of ${this.context}; was it truncated while being read?`,
        );
      }
      got += read;
    }
    this.loadedStart = this.position;
    this.loadedLength = size;
    return 0;
  }

  bytes(n: number, what: string): Buffer {
    const at = this.ensure(n, what);
    this.position += n;
    return this.storage.subarray(at, at + n);
  }

  skip(n: number, what: string): void {
    if (n > this.remaining) {
      this.fail(
        `the header is truncated: ${what} of ${this.context} needs ${n} bytes at offset ${this.position}, ` +
          `but only ${this.remaining} bytes remain in the file`,
      );
    }
    this.position += n;
  }

  u8(what: string): number {
    const at = this.ensure(1, what);
    this.position += 1;
    return this.storage.readUInt8(at);
  }
  i8(what: string): number {
    const at = this.ensure(1, what);
    this.position += 1;
    return this.storage.readInt8(at);
  }
  u16(what: string): number {
    const at = this.ensure(2, what);
    this.position += 2;
    return this.storage.readUInt16LE(at);
  }
  i16(what: string): number {
    const at = this.ensure(2, what);
    this.position += 2;
    return this.storage.readInt16LE(at);
  }
  u32(what: string): number {
    const at = this.ensure(4, what);
    this.position += 4;
    return this.storage.readUInt32LE(at);
  }
  i32(what: string): number {
    const at = this.ensure(4, what);
    this.position += 4;
    return this.storage.readInt32LE(at);
  }
  f32(what: string): number {
    const at = this.ensure(4, what);
    this.position += 4;
    return this.storage.readFloatLE(at);
  }
  f64(what: string): number {
    const at = this.ensure(8, what);
    this.position += 8;
    return this.storage.readDoubleLE(at);
  }
  u64(what: string): bigint {
    const at = this.ensure(8, what);
    this.position += 8;
    return this.storage.readBigUInt64LE(at);
  }
  i64(what: string): bigint {
    const at = this.ensure(8, what);
    this.position += 8;
    return this.storage.readBigInt64LE(at);
  }

  /** A uint64 that must not exceed `max` (at most 2^53 - 1), with `limitReason` saying why `max` is the limit. */
  count(what: string, max: number, limitReason: string): number {
    const start = this.position;
    const value = this.u64(what);
    if (value > BigInt(max)) {
      this.fail(
        `${what} of ${this.context} is ${value} (at offset ${start}), more than the file can hold: ${limitReason} ` +
          '(a corrupt count, or a truncated file)',
      );
    }
    return Number(value);
  }

  stringLength(what: string): number {
    const start = this.position;
    const length = this.u64(`the length of ${what}`);
    if (length > BigInt(this.remaining)) {
      this.fail(
        `the length of ${what} of ${this.context} is ${length} bytes (at offset ${start}), ` +
          `more than the ${this.remaining} bytes remaining in the file (corrupt string length or truncated file)`,
      );
    }
    if (length > BigInt(MAX_STRING_BYTES)) {
      this.fail(
        `the length of ${what} of ${this.context} is ${length} bytes (at offset ${start}), more than the ${MAX_STRING_BYTES}-byte limit`,
      );
    }
    return Number(length);
  }

  string(what: string): string {
    const length = this.stringLength(what);
    if (length === 0) return '';
    return this.bytes(length, what).toString('utf8');
  }

  skipString(what: string): void {
    this.skip(this.stringLength(what), what);
  }

  valueType(what: string): GgufValueTypeName {
    const start = this.position;
    const id = this.u32(what);
    const name = GGUF_VALUE_TYPES[id];
    if (name === undefined) {
      this.fail(
        `${what} of ${this.context} is ${id} (at offset ${start}), not a known GGUF value type (0 to ${GGUF_VALUE_TYPES.length - 1})`,
      );
    }
    return name;
  }
}

function readScalar(cursor: HeaderCursor, type: GgufValueTypeName, what: string): number | bigint | boolean | string {
  switch (type) {
    case 'uint8':
      return cursor.u8(what);
    case 'int8':
      return cursor.i8(what);
    case 'uint16':
      return cursor.u16(what);
    case 'int16':
      return cursor.i16(what);
    case 'uint32':
      return cursor.u32(what);
    case 'int32':
      return cursor.i32(what);
    case 'float32':
      return cursor.f32(what);
    case 'float64':
      return cursor.f64(what);
    case 'uint64':
      return cursor.u64(what);
    case 'int64':
      return cursor.i64(what);
    case 'bool':
      return cursor.u8(what) !== 0;
    case 'string':
      return cursor.string(what);
    case 'array':
      throw new Error('readScalar called for an array');
  }
}

function readArray(cursor: HeaderCursor, arrayLimit: number, depth: number): GgufArrayValue {
  if (depth > MAX_ARRAY_NESTING) cursor.fail(`${cursor.context} nests arrays more than ${MAX_ARRAY_NESTING} deep`);
  const elementType = cursor.valueType('the array element type');
  const scalarSize = ggufScalarSize(elementType);
  const minElementBytes = scalarSize ?? (elementType === 'string' ? 8 : 12);
  const length = cursor.count(
    'the array length',
    Math.floor(cursor.remaining / minElementBytes),
    `only ${cursor.remaining} bytes remain in the file and each ${elementType} element takes at least ${minElementBytes}`,
  );
  const keep = length <= arrayLimit;
  if (elementType === 'array') {
    const values: GgufArrayValue[] = [];
    for (let i = 0; i < length; i++) {
      const nested = readArray(cursor, keep ? arrayLimit : -1, depth + 1);
      if (keep) values.push(nested);
    }
    return { type: 'array', elementType, length, value: keep ? values : undefined };
  }
  if (!keep) {
    if (scalarSize !== undefined) cursor.skip(length * scalarSize, 'the array elements');
    else for (let i = 0; i < length; i++) cursor.skipString('an array element');
    return { type: 'array', elementType, length };
  }
  // Grown by push, not preallocated: a corrupt length then fails on the file's end, not on a giant allocation.
  const values: Array<number | bigint | boolean | string> = [];
  for (let i = 0; i < length; i++) values.push(readScalar(cursor, elementType, 'an array element'));
  return { type: 'array', elementType, length, value: values as GgufArrayValue['value'] };
}

function readValue(cursor: HeaderCursor, type: GgufValueTypeName, arrayLimit: number): GgufMetadataValue {
  if (type === 'array') return readArray(cursor, arrayLimit, 1);
  return { type, value: readScalar(cursor, type, 'the value') } as GgufMetadataValue;
}

function openRegularFile(path: string): { fd: number; size: number } {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`Model file not found: ${path}`);
    if (code === 'ENOTDIR') throw new Error(`Model file not found: ${path} (a parent of it is not a directory)`);
    throw new Error(`Cannot read model file ${path}: ${(error as Error).message}`);
  }
  if (stats.isDirectory()) throw new Error(`Model path is a directory, not a GGUF file: ${path}`);
  // A FIFO or device would block or never end: only regular files are read.
  if (!stats.isFile()) throw new Error(`Model path is not a regular file: ${path}`);
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

function parseHeader(cursor: HeaderCursor, arrayLimit: number): GgufHeader {
  const { path, fileSize } = cursor;
  if (fileSize < 4) {
    throw new Error(
      `Not a GGUF file: ${path} (the file is ${fileSize} bytes long, too short for the 4-byte magic "GGUF")`,
    );
  }
  const magic = Buffer.from(cursor.bytes(4, 'the magic'));
  if (!magic.equals(GGUF_MAGIC)) {
    throw new Error(
      `Not a GGUF file: ${path} (expected magic bytes ${formatBytesForMessage(GGUF_MAGIC)}, found ${formatBytesForMessage(magic)})`,
    );
  }
  const version = cursor.u32('the version');
  if (version !== 2 && version !== 3) {
    if (version !== 0 && (version & 0xffff) === 0) {
      throw new Error(
        `Unsupported GGUF file ${path}: it appears to be big-endian (version field ${version}), only little-endian GGUF is supported`,
      );
    }
    if (version === 1)
      throw new Error(
        `Unsupported GGUF version 1 in ${path}: GGUF v1 is obsolete, only versions 2 and 3 are supported`,
      );
    throw new Error(`Unsupported GGUF version ${version} in ${path}: only versions 2 and 3 are supported`);
  }
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

  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < kvCount; i++) {
    cursor.context = `metadata entry ${i}`;
    const key = cursor.string('the key');
    cursor.context = `metadata entry ${i} (${JSON.stringify(key)})`;
    if (metadata.has(key)) cursor.fail(`duplicate metadata key ${JSON.stringify(key)} (entry ${i})`);
    const type = cursor.valueType('the value type');
    metadata.set(key, readValue(cursor, type, arrayLimit));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentEntry = metadata.get('general.alignment');
  if (alignmentEntry !== undefined) {
    // llama.cpp reads this key with gguf_get_val_u32, which aborts the process on any other type.
    if (alignmentEntry.type !== 'uint32') {
      cursor.fail(`general.alignment must be of type uint32 but is of type ${alignmentEntry.type}`);
    }
    const value = alignmentEntry.value;
    if (value === 0 || (value & (value - 1)) !== 0) cursor.fail(`general.alignment is ${value}, not a power of 2`);
    alignment = value;
  }

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
  const headerSize = cursor.position;
  return {
    path,
    fileSize,
    version,
    tensorCount,
    metadata,
    tensors,
    alignment,
    headerSize,
    dataOffset: alignOffset(headerSize, alignment),
  };
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

function describeTensor(tensor: GgufTensorInfo): string {
  return `tensor ${JSON.stringify(tensor.name)} (${tensor.typeName} [${tensor.dims.join(', ')}])`;
}

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
 * contiguous, and tensor data extending past the end of the file (a truncated download). Returns the header.
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
