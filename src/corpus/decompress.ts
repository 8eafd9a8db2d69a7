/**
 * Input files' bytes, decompressed: gzip through zlib, zstd through fzstd (pure JS: Node 20's zlib has no zstd),
 * read in 1 MiB chunks, from an offset when the file is uncompressed (a resumed run reopens it there).
 */
import { promises as fs, type ReadStream } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { InputFile } from './inputs.js';

const READ_CHUNK_BYTES = 1 << 20;

/** An error's message, with its system code (ENOENT, EACCES) in front when it has one. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(`${error.code}:`) ? message : `${error.code}: ${message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The file's bytes, decompressed, from `offset` (uncompressed files only; compressed ones always from 0). */
export async function openDecompressed(
  input: InputFile,
  offset: number,
): Promise<{ raw: ReadStream; stream: Readable }> {
  // Opening first, so that a missing or unreadable file is one clear error before any stream is set up.
  const handle = await fs.open(input.source, 'r');
  const raw = handle.createReadStream({
    start: input.compression === 'none' ? offset : 0,
    highWaterMark: READ_CHUNK_BYTES,
  });
  if (input.compression === 'none') return { raw, stream: raw };
  const decompressor =
    input.compression === 'gzip' ? createGunzip({ chunkSize: READ_CHUNK_BYTES }) : await createZstdDecompressor();
  const stream = pipeline(raw, decompressor, () => {
    // Errors surface through the decompressor, where the reader iterates.
  });
  return { raw, stream };
}

/** zstd through fzstd (pure JS: Node 20's zlib has no zstd), as a Transform stream. */
async function createZstdDecompressor(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  let pending: Uint8Array[] = [];
  const decoder = new Decompress((data) => {
    pending.push(data);
  });
  const flushTo = (stream: Transform): void => {
    for (const data of pending) stream.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    pending = [];
  };
  let sawInput = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        sawInput = true;
        decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        flushTo(this);
        callback();
      } catch (error) {
        callback(new Error(`corrupt zstd stream: ${describeError(error)}`));
      }
    },
    flush(callback) {
      try {
        // fzstd throws on a stream that ends inside a frame: that is how truncation is detected.
        if (sawInput) decoder.push(new Uint8Array(0), true);
        flushTo(this);
        callback();
      } catch (error) {
        callback(new Error(`truncated or corrupt zstd stream: ${describeError(error)}`));
      }
    },
  });
}
