/**
 * The one way infoprune replaces a file or folder: build it under a temporary name beside the target, then rename it
 * over the target, so that a reader (or a crash, even SIGKILL) sees the old version or the new one, never half of one.
 * With `durable`, the data and the rename are also flushed to disk before returning (they survive a power cut).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';

/** `<path>.tmp-<pid>` (`-<thread>` added in worker threads): where an atomic write builds `path`. */
export function temporaryPathFor(path: string): string {
  return `${path}.tmp-${process.pid}${threadId === 0 ? '' : `-${threadId}`}`;
}

/** Whether a file name is a temporary of `temporaryPathFor` (left behind by a crash). */
export const TEMPORARY_NAME = /\.tmp-\d+(-\d+)?$/;

export interface AtomicOptions {
  /** Flush the data and the rename to disk. Default false. */
  durable?: boolean;
  /** Called just before the rename (e.g. to refuse a target that appeared meanwhile): throwing abandons the write. */
  beforeRename?: () => void;
}

/**
 * Builds `path` atomically: `build(temporary)` creates the temporary file or folder, which is then renamed over
 * `path`. On any error the temporary is removed and the error rethrown; `path` is untouched.
 */
export async function replaceAtomically<T>(
  path: string,
  build: (temporary: string) => T | Promise<T>,
  options: AtomicOptions = {},
): Promise<T> {
  const temporary = temporaryPathFor(path);
  rmSync(temporary, { recursive: true, force: true });
  try {
    const result = await build(temporary);
    finish(temporary, path, options);
    return result;
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** `replaceAtomically` for a synchronous `build`. */
export function replaceAtomicallySync<T>(
  path: string,
  build: (temporary: string) => T,
  options: AtomicOptions = {},
): T {
  const temporary = temporaryPathFor(path);
  rmSync(temporary, { recursive: true, force: true });
  try {
    const result = build(temporary);
    finish(temporary, path, options);
    return result;
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

function finish(temporary: string, path: string, options: AtomicOptions): void {
  options.beforeRename?.();
  renameSync(temporary, path);
  if (options.durable) syncFolder(path);
}

/** Writes a whole file atomically (and, with `durable`, flushed to disk). */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicOptions = {}): void {
  replaceAtomicallySync(
    path,
    (temporary) => {
      const fd = openSync(temporary, 'w');
      try {
        writeFully(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
        if (options.durable) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
    options,
  );
}

/** Writes all of `bytes` at the descriptor's position (writeSync may write less than asked). */
export function writeFully(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
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

export function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
