/**
 * Crash-safe writing: an append log whose valid length is what the last checkpoint says, and whole files written to
 * a temporary name, flushed to disk and renamed over the target (a reader sees the old file or the new one, never
 * half of one, even after SIGKILL or a power cut).
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Above this many buffered bytes the log writes them out (it also writes on every sync). */
const FLUSH_BYTES = 1 << 20;

export class AppendLog {
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Length of the log including what is still buffered. */
  length: number;

  private constructor(
    readonly path: string,
    private fd: number,
    length: number,
  ) {
    this.length = length;
  }

  /** A new, empty log (an existing file is emptied). */
  static create(path: string): AppendLog {
    return new AppendLog(path, openSync(path, 'w'), 0);
  }

  /** An existing log cut back to `length` (what a checkpoint says is valid); the rest came after it and is redone. */
  static reopen(path: string, length: number): AppendLog {
    const fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    if (size < length) {
      closeSync(fd);
      throw new Error(
        `${path} holds ${size} bytes but its checkpoint says ${length}: the run's files were changed; start over without --resume`,
      );
    }
    ftruncateSync(fd, length);
    closeSync(fd);
    return new AppendLog(path, openSync(path, 'a'), length);
  }

  append(text: string): void {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.pending.push(text);
    this.pendingBytes += bytes;
    this.length += bytes;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(''), 'utf8');
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes out and flushes to disk: after this, `length` bytes survive a crash. */
  sync(): void {
    this.flush();
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Flushes a folder's entries (a rename in it) to disk; a no-op where folders cannot be opened (Windows). */
export function syncFolder(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    // Not supported here: the rename is still atomic, only its durability across a power cut is weaker.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes a whole file atomically and durably: temporary file, fsync, rename, folder fsync. */
export function writeFileDurably(path: string, data: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncFolder(path);
}

export function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
