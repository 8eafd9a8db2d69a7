/**
 * An input file's content fingerprint: sha256 of its size, its first MiB and its last MiB. Cheap for any size (two
 * reads), and it tells an edit in place at the same size within those bytes even when the modification time was
 * kept; a resume also compares modification times, which catch the rest.
 */

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const EDGE_BYTES = 1 << 20;

export function inputFingerprint(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const hash = createHash('sha256');
    hash.update(`${size}\n`);
    const buffer = Buffer.alloc(Math.min(EDGE_BYTES, size));
    const readAt = (position: number) => {
      let done = 0;
      while (done < buffer.length) {
        const n = readSync(fd, buffer, done, buffer.length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      hash.update(buffer.subarray(0, done));
    };
    readAt(0);
    if (size > EDGE_BYTES) readAt(Math.max(EDGE_BYTES, size - EDGE_BYTES));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}
