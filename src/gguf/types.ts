/**
 * GGUF and ggml type tables shared by the reader, the writer and the random-model generator.
 * Format reference: ggml/docs/gguf.md and ggml/src/gguf.cpp in llama.cpp.
 */

/** The 4 magic bytes every GGUF file starts with ("GGUF", little-endian uint32 0x46554747). */
export const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');
/** general.alignment when the key is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGML_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: tensor names must be shorter than this many bytes. */
export const GGML_MAX_NAME = 64;

/** GGUF metadata value types, by their numeric id in the file. */
export const GGUF_VALUE_TYPES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
] as const;

export type GgufValueTypeName = (typeof GGUF_VALUE_TYPES)[number];
export type GgufNumberTypeName = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type GgufBigIntTypeName = 'uint64' | 'int64';
export type GgufScalarTypeName = Exclude<GgufValueTypeName, 'array'>;

export function ggufValueTypeId(name: GgufValueTypeName): number {
  return GGUF_VALUE_TYPES.indexOf(name);
}

/** Fixed byte size of a scalar GGUF value type; undefined for strings and arrays. */
export function ggufScalarSize(type: GgufValueTypeName): number | undefined {
  switch (type) {
    case 'uint8':
    case 'int8':
    case 'bool':
      return 1;
    case 'uint16':
    case 'int16':
      return 2;
    case 'uint32':
    case 'int32':
    case 'float32':
      return 4;
    case 'uint64':
    case 'int64':
    case 'float64':
      return 8;
    default:
      return undefined;
  }
}

export type GgufScalarValue =
  | { type: GgufNumberTypeName; value: number }
  | { type: GgufBigIntTypeName; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string };

export type GgufArrayValues =
  | ArrayLike<number>
  | ArrayLike<bigint>
  | ArrayLike<boolean>
  | ArrayLike<string>
  | ArrayLike<GgufArrayValue>;

export interface GgufArrayValue {
  type: 'array';
  elementType: GgufValueTypeName;
  /** Number of elements stored in the file. */
  length: number;
  /**
   * The elements: numbers (uint8..int32, float32, float64), bigints (uint64, int64), booleans, strings, or nested
   * arrays. The reader leaves this undefined for arrays longer than its `arrayLimit` option (it keeps only the length
   * and element type, e.g. for a 150k-entry tokenizer.ggml.tokens).
   */
  value?: GgufArrayValues;
}

export type GgufMetadataValue = GgufScalarValue | GgufArrayValue;

/** ggml tensor types: name, block size (elements per block) and type size (bytes per block). */
export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
}

/**
 * The ggml type table (ggml.h `enum ggml_type` and ggml.c `type_traits`). Ids 4, 5, 31-33 and 36-38 were removed
 * from ggml (block size 0 there); they are listed in REMOVED_GGML_TYPES so the error can say so.
 */
export const GGML_TYPES: readonly GgmlTypeInfo[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4 },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2 },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20 },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { id: 10, name: 'Q2_K', blockSize: 256, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: 256, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: 256, typeSize: 144 },
  { id: 13, name: 'Q5_K', blockSize: 256, typeSize: 176 },
  { id: 14, name: 'Q6_K', blockSize: 256, typeSize: 210 },
  { id: 15, name: 'Q8_K', blockSize: 256, typeSize: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: 256, typeSize: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: 256, typeSize: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: 256, typeSize: 98 },
  { id: 19, name: 'IQ1_S', blockSize: 256, typeSize: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { id: 21, name: 'IQ3_S', blockSize: 256, typeSize: 110 },
  { id: 22, name: 'IQ2_S', blockSize: 256, typeSize: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: 256, typeSize: 136 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1 },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2 },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4 },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8 },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8 },
  { id: 29, name: 'IQ1_M', blockSize: 256, typeSize: 56 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2 },
  { id: 34, name: 'TQ1_0', blockSize: 256, typeSize: 54 },
  { id: 35, name: 'TQ2_0', blockSize: 256, typeSize: 66 },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 17 },
  { id: 40, name: 'NVFP4', blockSize: 64, typeSize: 36 },
  { id: 41, name: 'Q1_0', blockSize: 128, typeSize: 18 },
  { id: 42, name: 'Q2_0', blockSize: 64, typeSize: 18 },
];

/** ggml type ids that existed once and were removed; files using them cannot be loaded. */
export const REMOVED_GGML_TYPES: ReadonlyMap<number, string> = new Map([
  [4, 'Q4_2'],
  [5, 'Q4_3'],
  [31, 'Q4_0_4_4'],
  [32, 'Q4_0_4_8'],
  [33, 'Q4_0_8_8'],
  [36, 'IQ4_NL_4_4'],
  [37, 'IQ4_NL_4_8'],
  [38, 'IQ4_NL_8_8'],
]);

const GGML_TYPE_BY_ID = new Map(GGML_TYPES.map((t) => [t.id, t]));
const GGML_TYPE_BY_NAME = new Map(GGML_TYPES.map((t) => [t.name, t]));

export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return GGML_TYPE_BY_ID.get(id);
}

export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return GGML_TYPE_BY_NAME.get(name.toUpperCase());
}

/** `F16`, `Q4_K`, `removed type Q4_2 (4)` or `unknown type 99`. */
export function ggmlTypeName(id: number): string {
  const info = GGML_TYPE_BY_ID.get(id);
  if (info) return info.name;
  const removed = REMOVED_GGML_TYPES.get(id);
  if (removed) return `removed type ${removed} (${id})`;
  return `unknown type ${id}`;
}

/**
 * Byte size of a tensor with these dims (innermost first) and ggml type, or undefined when the type is unknown or the
 * row length (dims[0]) is not a multiple of the type's block size.
 */
export function ggmlTensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const info = GGML_TYPE_BY_ID.get(type);
  if (!info) return undefined;
  const rowLength = dims.length > 0 ? dims[0] : 1;
  if (rowLength % info.blockSize !== 0) return undefined;
  let size = (rowLength / info.blockSize) * info.typeSize;
  for (let i = 1; i < dims.length; i++) size *= dims[i];
  return size;
}

/** Rounds `offset` up to a multiple of `alignment` (a power of two, but any positive integer works). */
export function alignOffset(offset: number, alignment: number): number {
  const remainder = offset % alignment;
  return remainder === 0 ? offset : offset + alignment - remainder;
}
