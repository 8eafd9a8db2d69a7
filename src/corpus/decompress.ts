/**
 * Input files' bytes, decompressed and verified: gzip member by member through zlib (each member's CRC-32 and length
 * checked), zstd frame by frame through fzstd (pure JS: Node 20's zlib has no zstd) with each frame's XXH64
 * content checksum and content size checked, which fzstd itself skips. A decoder yields the data, a `verified`
 * mark after each intact member or frame, and at the end either nothing more, a `damaged` piece (where the damage
 * begins: the member or frame holding it, as a byte offset of the compressed file) or a `trailing` piece (bytes
 * after the last member or frame that are not compressed data: ignored, as `gzip -d` does, and reported).
 */
import { open } from 'node:fs/promises';
import { ByteSource, type DecodedPiece, describeError, READ_CHUNK_BYTES } from './byte-source.js';
import { gunzipMembers } from './gzip.js';
import type { InputFile } from './inputs.js';
import { zstdFrames } from './zstd.js';

export { ByteSource, type DecodedPiece, describeError };

/**
 * The file's bytes, decompressed and verified (see the module comment), from `offset` when it is uncompressed (a
 * resumed run reopens it there; compressed files always start at 0). `onSource` gets the file as it is read (how far
 * it is consumed: progress by input bytes).
 */
export async function* decodeFile(
  input: InputFile,
  offset = 0,
  onSource?: (source: ByteSource) => void,
): AsyncGenerator<DecodedPiece> {
  // Opening first, so that a missing or unreadable file is one clear error before anything is decoded.
  const handle = await open(input.path ?? input.source, 'r');
  try {
    const { size } = await handle.stat();
    const source = new ByteSource(handle, size, input.compression === 'none' ? offset : 0);
    onSource?.(source);
    if (input.compression === 'gzip') yield* gunzipMembers(source);
    else if (input.compression === 'zstd') yield* zstdFrames(source);
    else {
      for (let data = await source.take(READ_CHUNK_BYTES); data; data = await source.take(READ_CHUNK_BYTES)) {
        yield { kind: 'data', data };
      }
      yield { kind: 'verified' };
    }
  } finally {
    await handle.close();
  }
}
