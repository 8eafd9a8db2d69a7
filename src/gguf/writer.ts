/**
 * Streaming GGUF v3 writer: metadata of every GGUF value type, tensors from values (stored as F32 or F16), from a
 * chunk-filling callback (so a 500 MB model never sits in memory) or from raw bytes of any ggml type. The header is
 * encoded by src/gguf/encode.ts; the file is written atomically (src/util/files.ts), so readers never see half a model.
 */
import { closeSync, openSync } from 'node:fs';
import { endianness } from 'node:os';
import { InfopruneError } from '../errors.js';
import { replaceAtomicallySync, writeFully } from '../util/files.js';
import { expectFunction, expectInteger, expectObject, expectString } from '../util/validate.js';
import {
  encodeHeader,
  type GgufTensorSource,
  type PlannedTensor,
  planTensors,
  resolveAlignment,
  toMetadataMap,
} from './encode.js';
import { float32ToFloat16Bits } from './float16.js';
import { alignOffset, type GgufMetadataValue } from './types.js';

export interface WriteGgufOptions {
  /** Data alignment; defaults to the general.alignment metadata value, else 32. Written as general.alignment if not 32. */
  alignment?: number;
  /** Values generated per `fill` call (default 1,048,576). */
  chunkElements?: number;
  /** Called after each chunk of tensor data is written. */
  onProgress?: (bytesWritten: number, totalBytes: number) => void;
}

export interface WriteGgufResult {
  path: string;
  /** Size of the written file. */
  bytes: number;
  dataOffset: number;
  tensorCount: number;
}

/** Where the data of one file is being written. */
interface DataStream {
  fd: number;
  position: number;
  chunkElements: number;
  floatChunk?: Float32Array;
  halfChunk?: Uint16Array;
  progress: () => void;
}

/**
 * Writes a GGUF v3 file. Metadata keys keep their iteration order; tensors are stored in order, each padded to the
 * alignment. Written under a temporary name and renamed to `path` once complete (the temporary removed on failure).
 */
export function writeGguf(
  path: string,
  metadata: Iterable<readonly [string, GgufMetadataValue]>,
  tensors: readonly GgufTensorSource[],
  options: WriteGgufOptions = {},
): WriteGgufResult {
  // 1. Options, then the plan: every tensor's type, size and offset, and the header bytes.
  expectString('path', path, { nonEmpty: true });
  expectObject('options', options);
  if (endianness() !== 'LE') throw new Error('Writing GGUF requires a little-endian machine');
  const chunkElements = expectInteger('options.chunkElements', options.chunkElements ?? 1 << 20, 1, 1 << 26);
  const onProgress = expectFunction<NonNullable<WriteGgufOptions['onProgress']>>(
    'options.onProgress',
    options.onProgress,
  );
  const map = toMetadataMap(metadata);
  const alignment = resolveAlignment(map, options.alignment);
  const planned = planTensors(tensors, true);
  const encoded = encodeHeader(map, planned, alignment);
  // 2. The file: header, then each tensor's data padded to the alignment.
  const bytes = replaceAtomicallySync(path, (temporary) => {
    const fd = openForWriting(temporary, path);
    try {
      const stream: DataStream = { fd, position: 0, chunkElements, progress: () => undefined };
      stream.progress = () => onProgress?.(stream.position, encoded.totalBytes);
      writeFully(fd, encoded.header);
      stream.position = encoded.header.length;
      for (const tensor of planned) writeTensorData(stream, tensor, alignment);
      if (stream.position !== encoded.totalBytes) {
        throw new Error(
          `Internal error writing ${path}: wrote ${stream.position} bytes, expected ${encoded.totalBytes}`,
        );
      }
      return stream.position;
    } finally {
      closeSync(fd);
    }
  });
  return { path, bytes, dataOffset: encoded.dataOffset, tensorCount: planned.length };
}

function openForWriting(temporary: string, path: string): number {
  try {
    return openSync(temporary, 'w');
  } catch (error) {
    throw new InfopruneError('OUTPUT_NOT_WRITABLE', `Cannot write GGUF file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** One tensor's data (its bytes as given, or its values converted chunk by chunk), then padding to the alignment. */
function writeTensorData(stream: DataStream, tensor: PlannedTensor, alignment: number): void {
  const { source, type, elementCount, byteSize } = tensor;
  if (source.bytes !== undefined) {
    writeFully(stream.fd, source.bytes);
    stream.position += byteSize;
    stream.progress();
  } else {
    const isHalf = type.name === 'F16';
    for (let start = 0; start < elementCount; start += stream.chunkElements) {
      const count = Math.min(stream.chunkElements, elementCount - start);
      const values = valuesOf(stream, source, start, count);
      if (isHalf) {
        stream.halfChunk ??= new Uint16Array(stream.chunkElements);
        const half = stream.halfChunk;
        for (let i = 0; i < count; i++) half[i] = float32ToFloat16Bits(values[i]);
        writeFully(stream.fd, new Uint8Array(half.buffer, 0, count * 2));
      } else {
        writeFully(stream.fd, new Uint8Array(values.buffer, values.byteOffset, count * 4));
      }
      stream.position += count * (isHalf ? 2 : 4);
      stream.progress();
    }
  }
  const padding = alignOffset(stream.position, alignment) - stream.position;
  if (padding > 0) {
    writeFully(stream.fd, new Uint8Array(padding));
    stream.position += padding;
  }
}

/** Elements `start .. start + count - 1` of a tensor given by values or by a fill callback, as float32. */
function valuesOf(stream: DataStream, source: GgufTensorSource, start: number, count: number): Float32Array {
  if (!source.fill && source.data instanceof Float32Array) return source.data.subarray(start, start + count);
  stream.floatChunk ??= new Float32Array(stream.chunkElements);
  const values = stream.floatChunk.subarray(0, count);
  if (source.fill) source.fill(values, start);
  else {
    const data = source.data!;
    for (let i = 0; i < count; i++) values[i] = data[start + i];
  }
  return values;
}
