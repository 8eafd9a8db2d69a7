/**
 * Crash-safe appending: a log whose valid length is what the last checkpoint says (src/pipeline/checkpoint.ts).
 * What was appended after it is cut off on resume and written again, so every record is written exactly once.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { InfopruneError } from '../errors.js';

/** Above this many buffered bytes the log writes them out (it also writes on every sync). */
const FLUSH_BYTES = 1 << 20;

export class AppendLog {
  private pending: Buffer[] = [];
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
      throw new InfopruneError(
        'RESUME_MISMATCH',
        (name) =>
          `${path} holds ${size} bytes but its checkpoint says ${length}: the run's files were changed; start over without ${name('resume')}`,
      );
    }
    ftruncateSync(fd, length);
    closeSync(fd);
    return new AppendLog(path, openSync(path, 'a'), length);
  }

  /** Appends text (as UTF-8) or bytes (copied when buffered: the caller may reuse its buffer). */
  append(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.length += bytes.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
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
