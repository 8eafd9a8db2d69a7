/**
 * What the decoders share (src/corpus/gzip.ts, zstd.ts): the file as a `ByteSource`, and the pieces a decoder
 * yields (see src/corpus/decompress.ts).
 */
import type { FileHandle } from 'node:fs/promises';

export const READ_CHUNK_BYTES = 1 << 20;

/** An error's message, with its system code (ENOENT, EACCES) in front when it has one. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(`${error.code}:`) ? message : `${error.code}: ${message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export type DecodedPiece =
  | { kind: 'data'; data: Buffer }
  /** Everything decoded so far is intact: a member or frame ended with its checks passed. */
  | { kind: 'verified' }
  /**
   * Damage in the member or frame starting at compressed byte `offset`: nothing after it is decoded. `truncated`: the
   * file ends inside it, and what was decoded of it is intact (a cut damages no byte before it), so it is kept.
   */
  | { kind: 'damaged'; offset: number; reason: string; truncated?: boolean }
  /** `length` bytes from `offset` on are not compressed data: ignored. */
  | { kind: 'trailing'; offset: number; length: number };

/** A file read in chunks, with bytes that can be looked at before they are consumed, and put back. */
export class ByteSource {
  /** The file offset of the first byte not yet consumed. */
  offset: number;
  private pending: Buffer = Buffer.alloc(0);
  private readOffset: number;
  private ended = false;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    start = 0,
  ) {
    this.offset = start;
    this.readOffset = start;
  }

  /** Makes `n` bytes available to `peek`; false when the file ends before. */
  async ensure(n: number): Promise<boolean> {
    while (this.pending.length < n && !this.ended) {
      const buffer = Buffer.allocUnsafe(Math.max(READ_CHUNK_BYTES, n - this.pending.length));
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.readOffset);
      if (bytesRead === 0) this.ended = true;
      this.readOffset += bytesRead;
      this.pending =
        this.pending.length === 0
          ? buffer.subarray(0, bytesRead)
          : Buffer.concat([this.pending, buffer.subarray(0, bytesRead)]);
    }
    return this.pending.length >= n;
  }

  peek(n: number): Buffer {
    return this.pending.subarray(0, n);
  }

  skip(n: number): void {
    this.pending = this.pending.subarray(n);
    this.offset += n;
  }

  /** The next bytes (what is buffered, else one read), up to `max`, consumed; undefined at the end of the file. */
  async take(max: number): Promise<Buffer | undefined> {
    if (!(await this.ensure(1))) return undefined;
    const bytes = this.pending.subarray(0, Math.min(max, this.pending.length));
    this.skip(bytes.length);
    return bytes;
  }

  /** Puts the last consumed `bytes` back. */
  unread(bytes: Buffer): void {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([bytes, this.pending]);
    this.offset -= bytes.length;
  }

  /** Skips `n` bytes that may not be buffered yet; false when the file ends first. */
  async discard(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (!(await this.ensure(1))) return false;
      const step = Math.min(left, this.pending.length);
      this.skip(step);
      left -= step;
    }
    return true;
  }
}

export function damaged(offset: number, reason: string): DecodedPiece {
  return { kind: 'damaged', offset, reason };
}

export function truncated(offset: number, reason: string): DecodedPiece {
  return { kind: 'damaged', offset, reason, truncated: true };
}

/** What follows the last member or frame: nothing, trailing bytes (ignored), or (before any) damage. */
export function afterLast(source: ByteSource, start: number, first: boolean, what: string): DecodedPiece | undefined {
  if (start >= source.size) return first ? damaged(start, `the file is empty: no ${what} data`) : undefined;
  if (first) return damaged(start, `not ${what} data (no ${what} header at the start)`);
  return { kind: 'trailing', offset: start, length: source.size - start };
}
