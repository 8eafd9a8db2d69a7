/**
 * Reading a GGUF header's bytes: a forward cursor over the header region that buffers a chunk at a time (models can
 * be many GB) and checks every length and count against the bytes left in the file, and the metadata values.
 * Anything malformed throws an InfopruneError (MODEL_INVALID) naming the file and where in it.
 */

import { readSync } from 'node:fs';
import { InfopruneError } from '../errors.js';
import {
  GGUF_VALUE_TYPES,
  type GgufArrayValue,
  type GgufMetadataValue,
  type GgufValueTypeName,
  ggufScalarSize,
} from './types.js';

export const CHUNK_SIZE = 1 << 20;
/** No GGUF string (key, tensor name, chat template, token) is anywhere near this long. */
const MAX_STRING_BYTES = 64 << 20;
/** Nested arrays are not valid GGUF for llama.cpp; the reader tolerates a little nesting, never unbounded. */
const MAX_ARRAY_NESTING = 4;
/** Smallest possible encoded key/value pair: key length (8), value type (4), a 1-byte value. */
export const MIN_KV_BYTES = 13;
/** Smallest possible encoded tensor info: name length (8), n_dims (4), type (4), offset (8). */
export const MIN_TENSOR_INFO_BYTES = 24;

export function invalid(path: string, message: string): InfopruneError {
  return new InfopruneError('MODEL_INVALID', `Invalid GGUF file ${path}: ${message}`);
}

export function formatBytesForMessage(bytes: Buffer): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `"${text}" (${hex})`;
}

/** Reads forward through the header region, buffering CHUNK_SIZE bytes at a time, with bounds checks. */
export class HeaderCursor {
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

export function readValue(cursor: HeaderCursor, type: GgufValueTypeName, arrayLimit: number): GgufMetadataValue {
  if (type === 'array') return readArray(cursor, arrayLimit, 1);
  return { type, value: readScalar(cursor, type, 'the value') } as GgufMetadataValue;
}
