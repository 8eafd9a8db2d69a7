/**
 * Encoding a GGUF v3 header: metadata values of every GGUF type (with range checks), the tensor plan (types, shapes,
 * sizes, data offsets at the alignment) and the header bytes. The writer (src/gguf/writer.ts) streams the data after.
 */
import { expectInteger, expectObject, expectString, invalidParameterError } from '../util/validate.js';
import {
  alignOffset,
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPES,
  type GgmlTypeInfo,
  type GgufArrayValue,
  type GgufMetadataValue,
  type GgufValueTypeName,
  ggmlTypeByName,
  ggmlTypeInfo,
  ggufValueTypeId,
} from './types.js';

/** Where a tensor's data comes from: exactly one of `data`, `fill` or `bytes`. */
export interface GgufTensorSource {
  name: string;
  /** Dimensions, innermost (row length) first, 1 to 4 of them. */
  dims: readonly number[];
  /** ggml type stored in the file: a name (`'F32'`, `'F16'`, `'Q4_K'`, ...) or id. Values (data, fill) need F32 or F16. */
  type: string | number;
  /** All values, converted to `type`. */
  data?: ArrayLike<number>;
  /** Fills `chunk` with the values of elements `start .. start + chunk.length - 1`; called in order, chunk by chunk. */
  fill?: (chunk: Float32Array, start: number) => void;
  /** The exact stored bytes, for any ggml type. */
  bytes?: Uint8Array;
}

export interface EncodedGgufHeader {
  /** Magic through tensor infos, zero-padded to `dataOffset`. */
  header: Buffer;
  dataOffset: number;
  alignment: number;
  /** Per tensor: data offset relative to dataOffset, and byte size. */
  tensorOffsets: number[];
  tensorSizes: number[];
  /** Size of the complete file. */
  totalBytes: number;
}

// ---- metadata value constructors ----

export const ggufUint8 = (value: number): GgufMetadataValue => ({ type: 'uint8', value });
export const ggufInt8 = (value: number): GgufMetadataValue => ({ type: 'int8', value });
export const ggufUint16 = (value: number): GgufMetadataValue => ({ type: 'uint16', value });
export const ggufInt16 = (value: number): GgufMetadataValue => ({ type: 'int16', value });
export const ggufUint32 = (value: number): GgufMetadataValue => ({ type: 'uint32', value });
export const ggufInt32 = (value: number): GgufMetadataValue => ({ type: 'int32', value });
export const ggufFloat32 = (value: number): GgufMetadataValue => ({ type: 'float32', value });
export const ggufFloat64 = (value: number): GgufMetadataValue => ({ type: 'float64', value });
export const ggufUint64 = (value: number | bigint): GgufMetadataValue => ({ type: 'uint64', value: BigInt(value) });
export const ggufInt64 = (value: number | bigint): GgufMetadataValue => ({ type: 'int64', value: BigInt(value) });
export const ggufBool = (value: boolean): GgufMetadataValue => ({ type: 'bool', value });
export const ggufString = (value: string): GgufMetadataValue => ({ type: 'string', value });
export function ggufArray(elementType: GgufValueTypeName, value: NonNullable<GgufArrayValue['value']>): GgufArrayValue {
  return { type: 'array', elementType, length: value.length, value };
}

// ---- encoding ----

/** A growable little-endian byte buffer for the header. */
class ByteBuilder {
  // Every writer reserves first, then writes: reserve() may replace this.buffer.
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.reserve(1);
    this.buffer.writeUInt8(v, at);
  }
  i8(v: number): void {
    const at = this.reserve(1);
    this.buffer.writeInt8(v, at);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.buffer.writeUInt16LE(v, at);
  }
  i16(v: number): void {
    const at = this.reserve(2);
    this.buffer.writeInt16LE(v, at);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.buffer.writeUInt32LE(v, at);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.buffer.writeInt32LE(v, at);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.buffer.writeFloatLE(v, at);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.buffer.writeDoubleLE(v, at);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigUInt64LE(v, at);
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigInt64LE(v, at);
  }
  string(s: string): void {
    const byteLength = Buffer.byteLength(s, 'utf8');
    this.u64(BigInt(byteLength));
    const at = this.reserve(byteLength);
    this.buffer.write(s, at, byteLength, 'utf8');
  }
  zeros(n: number): void {
    const at = this.reserve(n);
    this.buffer.fill(0, at, this.length);
  }
  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

const INTEGER_RANGES: Partial<Record<GgufValueTypeName, [number, number]>> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

function encodeScalar(out: ByteBuilder, type: GgufValueTypeName, value: unknown, name: string): void {
  const range = INTEGER_RANGES[type];
  if (range) {
    expectInteger(name, value, range[0], range[1]);
    const v = value as number;
    if (type === 'uint8') out.u8(v);
    else if (type === 'int8') out.i8(v);
    else if (type === 'uint16') out.u16(v);
    else if (type === 'int16') out.i16(v);
    else if (type === 'uint32') out.u32(v);
    else out.i32(v);
    return;
  }
  switch (type) {
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') throw invalidParameterError(name, 'number', value);
      if (type === 'float32') out.f32(value);
      else out.f64(value);
      return;
    case 'uint64':
    case 'int64': {
      const big = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
      const [min, max] = type === 'uint64' ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
      if (typeof big !== 'bigint' || big < min || big > max) {
        throw invalidParameterError(name, `${type} (bigint or safe integer in [${min}, ${max}])`, value);
      }
      if (type === 'uint64') out.u64(big);
      else out.i64(big);
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') throw invalidParameterError(name, 'boolean', value);
      out.u8(value ? 1 : 0);
      return;
    case 'string':
      expectString(name, value);
      out.string(value as string);
      return;
    default:
      throw invalidParameterError(name, 'a scalar GGUF type', type);
  }
}

function encodeArray(out: ByteBuilder, array: GgufArrayValue, name: string): void {
  if (!(GGUF_VALUE_TYPES as readonly string[]).includes(array.elementType)) {
    throw invalidParameterError(`${name}.elementType`, `one of ${GGUF_VALUE_TYPES.join(', ')}`, array.elementType);
  }
  const values = array.value;
  if (values === undefined || values === null || typeof values.length !== 'number') {
    throw invalidParameterError(
      `${name}.value`,
      'an array of values (the reader omits long arrays unless arrayLimit allows them)',
      values,
    );
  }
  if (array.length !== undefined && array.length !== values.length) {
    throw invalidParameterError(`${name}.length`, `the number of values (${values.length})`, array.length);
  }
  out.u32(ggufValueTypeId(array.elementType));
  out.u64(BigInt(values.length));
  if (array.elementType === 'array') {
    for (let i = 0; i < values.length; i++) {
      const nested = values[i] as GgufArrayValue;
      expectObject(`${name}.value[${i}]`, nested);
      encodeArray(out, nested, `${name}.value[${i}]`);
    }
    return;
  }
  for (let i = 0; i < values.length; i++) encodeScalar(out, array.elementType, values[i], `${name}.value[${i}]`);
}

function encodeMetadataValue(out: ByteBuilder, key: string, entry: GgufMetadataValue): void {
  const name = `metadata ${JSON.stringify(key)}`;
  expectObject(name, entry);
  if (!(GGUF_VALUE_TYPES as readonly string[]).includes(entry.type)) {
    throw invalidParameterError(`${name}.type`, `one of ${GGUF_VALUE_TYPES.join(', ')}`, entry.type);
  }
  out.u32(ggufValueTypeId(entry.type));
  if (entry.type === 'array') encodeArray(out, entry, name);
  else encodeScalar(out, entry.type, entry.value, name);
}

function resolveTensorType(tensor: GgufTensorSource, name: string): GgmlTypeInfo {
  const info =
    typeof tensor.type === 'number'
      ? ggmlTypeInfo(tensor.type)
      : typeof tensor.type === 'string'
        ? ggmlTypeByName(tensor.type)
        : undefined;
  if (!info)
    throw invalidParameterError(`${name}.type`, 'a known ggml type name or id (e.g. "F32", "F16")', tensor.type);
  return info;
}

export interface PlannedTensor {
  source: GgufTensorSource;
  type: GgmlTypeInfo;
  elementCount: number;
  byteSize: number;
}

export function planTensors(tensors: readonly GgufTensorSource[], requireData: boolean): PlannedTensor[] {
  if (!Array.isArray(tensors)) throw invalidParameterError('tensors', 'array', tensors);
  const names = new Set<string>();
  return tensors.map((source, index) => {
    const label = `tensors[${index}]`;
    expectObject(label, source);
    expectString(`${label}.name`, source.name, { nonEmpty: true });
    if (Buffer.byteLength(source.name, 'utf8') >= GGML_MAX_NAME) {
      throw invalidParameterError(`${label}.name`, `name shorter than ${GGML_MAX_NAME} bytes`, source.name);
    }
    if (names.has(source.name)) throw invalidParameterError(`${label}.name`, 'unique tensor name', source.name);
    names.add(source.name);
    if (!Array.isArray(source.dims) || source.dims.length < 1 || source.dims.length > GGML_MAX_DIMS) {
      throw invalidParameterError(`${label}.dims`, `array of 1 to ${GGML_MAX_DIMS} dimensions`, source.dims);
    }
    let elementCount = 1;
    const dims: readonly unknown[] = source.dims;
    for (let d = 0; d < dims.length; d++) elementCount *= expectInteger(`${label}.dims[${d}]`, dims[d], 1);
    if (!Number.isSafeInteger(elementCount))
      throw invalidParameterError(`${label}.dims`, 'a shape of fewer than 2^53 elements', source.dims);
    const type = resolveTensorType(source, label);
    if (source.dims[0] % type.blockSize !== 0) {
      throw invalidParameterError(
        `${label}.dims[0]`,
        `multiple of the ${type.name} block size ${type.blockSize}`,
        source.dims[0],
      );
    }
    const byteSize = (elementCount / type.blockSize) * type.typeSize;
    if (requireData) {
      const given = [source.data, source.fill, source.bytes].filter((x) => x !== undefined).length;
      if (given !== 1) throw invalidParameterError(label, 'exactly one of data, fill or bytes', source);
      if (source.bytes !== undefined) {
        if (!(source.bytes instanceof Uint8Array))
          throw invalidParameterError(`${label}.bytes`, 'Uint8Array', source.bytes);
        if (source.bytes.length !== byteSize) {
          throw invalidParameterError(
            `${label}.bytes`,
            `${byteSize} bytes for ${type.name} [${source.dims.join(', ')}]`,
            source.bytes,
          );
        }
      } else {
        if (type.name !== 'F32' && type.name !== 'F16') {
          throw invalidParameterError(
            `${label}.type`,
            '"F32" or "F16" when data or fill gives values (use bytes for other types)',
            source.type,
          );
        }
        if (source.data !== undefined && source.data.length !== elementCount) {
          throw invalidParameterError(`${label}.data`, `${elementCount} values`, source.data);
        }
        if (source.fill !== undefined && typeof source.fill !== 'function')
          throw invalidParameterError(`${label}.fill`, 'function', source.fill);
      }
    }
    return { source, type, elementCount, byteSize };
  });
}

export function resolveAlignment(metadata: Map<string, GgufMetadataValue>, requested: number | undefined): number {
  const entry = metadata.get('general.alignment');
  let fromMetadata: number | undefined;
  if (entry !== undefined) {
    if (entry.type !== 'uint32')
      throw invalidParameterError('metadata "general.alignment".type', '"uint32"', entry.type);
    fromMetadata = entry.value;
  }
  const alignment = requested ?? fromMetadata ?? GGUF_DEFAULT_ALIGNMENT;
  expectInteger('alignment', alignment, 1, 1 << 30);
  if ((alignment & (alignment - 1)) !== 0) throw invalidParameterError('alignment', 'power of 2', alignment);
  if (fromMetadata !== undefined && fromMetadata !== alignment) {
    throw invalidParameterError('alignment', `the metadata general.alignment (${fromMetadata})`, alignment);
  }
  if (fromMetadata === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT) {
    metadata.set('general.alignment', { type: 'uint32', value: alignment });
  }
  return alignment;
}

export function toMetadataMap(
  metadata: Iterable<readonly [string, GgufMetadataValue]>,
): Map<string, GgufMetadataValue> {
  if (
    metadata === null ||
    typeof metadata !== 'object' ||
    typeof (metadata as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw invalidParameterError('metadata', 'a Map or iterable of [key, value] pairs', metadata);
  }
  const map = new Map<string, GgufMetadataValue>();
  for (const [key, value] of metadata) {
    expectString('metadata key', key, { nonEmpty: true });
    if (map.has(key)) throw invalidParameterError('metadata key', 'unique key', key);
    map.set(key, value);
  }
  return map;
}

export function encodeHeader(
  metadata: Map<string, GgufMetadataValue>,
  planned: PlannedTensor[],
  alignment: number,
): EncodedGgufHeader {
  const out = new ByteBuilder();
  out.u8(GGUF_MAGIC[0]);
  out.u8(GGUF_MAGIC[1]);
  out.u8(GGUF_MAGIC[2]);
  out.u8(GGUF_MAGIC[3]);
  out.u32(3);
  out.u64(BigInt(planned.length));
  out.u64(BigInt(metadata.size));
  for (const [key, value] of metadata) {
    out.string(key);
    encodeMetadataValue(out, key, value);
  }
  const tensorOffsets: number[] = [];
  const tensorSizes: number[] = [];
  let offset = 0;
  for (const tensor of planned) {
    out.string(tensor.source.name);
    out.u32(tensor.source.dims.length);
    for (const dim of tensor.source.dims) out.u64(BigInt(dim));
    out.u32(tensor.type.id);
    out.u64(BigInt(offset));
    tensorOffsets.push(offset);
    tensorSizes.push(tensor.byteSize);
    offset = alignOffset(offset + tensor.byteSize, alignment);
  }
  const dataOffset = alignOffset(out.length, alignment);
  out.zeros(dataOffset - out.length);
  const last = planned.length - 1;
  const totalBytes =
    planned.length === 0 ? dataOffset : dataOffset + tensorOffsets[last] + alignOffset(tensorSizes[last], alignment);
  return { header: out.toBuffer(), dataOffset, alignment, tensorOffsets, tensorSizes, totalBytes };
}

/**
 * Encodes the header (magic through tensor infos, padded to the data offset) for the given metadata and tensor
 * shapes/types, without any tensor data. Useful to inspect a layout, or to test readers on huge shapes cheaply.
 */
export function encodeGgufHeader(
  metadata: Iterable<readonly [string, GgufMetadataValue]>,
  tensors: ReadonlyArray<Pick<GgufTensorSource, 'name' | 'dims' | 'type'>>,
  options: { alignment?: number } = {},
): EncodedGgufHeader {
  const map = toMetadataMap(metadata);
  const alignment = resolveAlignment(map, options.alignment);
  return encodeHeader(map, planTensors(tensors, false), alignment);
}
