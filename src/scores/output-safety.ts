/**
 * What keeps two runs, and odd paths, from destroying outputs: an exclusive lock on each output (`<out>.lock`), so
 * that a second `score`, `prune` or `merge` writing the same output fails at once instead of both writing it, and
 * the rule that infoprune replaces only regular files (never a device, a FIFO, a socket, a link or a folder).
 *
 * The lock is flock(2) on the lock file (native/platform.cpp): the kernel releases it when its descriptor closes or
 * the process dies, even by SIGKILL, so a killed run never leaves its output locked. The file holds the owner's pid
 * and host for the message a second run gets; it is removed by its owner on release, which is safe because a run
 * that takes the lock checks that the file it locked is still the one at the path.
 */
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  type Stats,
  statSync,
  unlinkSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { nativeAddon } from '../engine/native.js';
import { InfopruneError } from '../errors.js';
import { writeFully } from '../util/files.js';

/** The lock file of an output. */
export function lockPathOf(output: string): string {
  return `${output}.lock`;
}

function describeKind(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Throws OUTPUT_NOT_WRITABLE when `path` exists and is not a regular file: infoprune writes a file by renaming a
 * new one over it, which would replace a device or FIFO (`/dev/null` as root) or a link itself.
 */
export function checkReplaceable(path: string, what = 'the output'): void {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (stats.isFile()) return;
  throw new InfopruneError(
    'OUTPUT_NOT_WRITABLE',
    `Cannot write ${what} ${path}: it is ${describeKind(stats)}, and infoprune replaces only regular files it wrote`,
  );
}

/** An exclusive lock on an output, held until `release()` or the end of the process. */
export class OutputLock {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  /**
   * Takes the lock of `output`; OUTPUT_LOCKED at once when another run (this process or another) holds it.
   * `what` names the output in the message (`--out scores.jsonl`).
   */
  static acquire(output: string, what = output): OutputLock {
    const path = lockPathOf(output);
    checkReplaceable(path, 'the lock file');
    for (let attempt = 0; attempt < 10; attempt++) {
      const fd = openSync(path, 'a+');
      let locked = false;
      try {
        locked = nativeAddon().lockFile(fd);
        if (!locked) throw lockedError(path, what);
        // The owner before us may have removed the file after we opened it: then lock the file now at the path.
        if (sameFile(fstatSync(fd), path)) {
          const owner = Buffer.from(`${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date() })}\n`);
          ftruncateSync(fd, 0); // a killed owner's line may still be there
          writeFully(fd, owner);
          return new OutputLock(path, fd);
        }
      } catch (error) {
        closeSync(fd);
        throw error;
      }
      closeSync(fd);
    }
    throw lockedError(path, what);
  }

  /** Removes the lock file and releases the lock (in that order: see the module comment). */
  release(): void {
    if (this.fd === undefined) return;
    try {
      if (sameFile(fstatSync(this.fd), this.path)) unlinkSync(this.path);
    } catch {
      // already gone: nothing to remove
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

function sameFile(held: Stats, path: string): boolean {
  try {
    const current = statSync(path);
    return current.ino === held.ino && current.dev === held.dev;
  } catch {
    return false;
  }
}

function lockedError(path: string, what: string): InfopruneError {
  let owner = '';
  try {
    const { pid, host, since } = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]) as Record<string, string>;
    owner = ` (process ${pid} on ${host}, since ${since})`;
  } catch {
    // no owner written yet
  }
  return new InfopruneError(
    'OUTPUT_LOCKED',
    `${what} is being written by another infoprune run${owner}, which holds ${path}: wait for it to finish, or stop it (its lock goes with it)`,
  );
}
