/**
 * `-` as an input: standard input, spooled once to a temporary file. The readers open inputs by name, `prune` reads
 * its corpus twice and a resume reopens files at an offset, none of which a pipe allows; a spooled file allows all of
 * them. The format is told from the first bytes (gzip, zstd, Parquet's `PAR1`; JSONL otherwise, unless the reading
 * options' `format` says otherwise). The spool lies in the system's temporary folder (`TMPDIR`) and is removed when
 * the process ends.
 */
import { closeSync, createWriteStream, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The argument that names standard input. */
export const STDIN_ARGUMENT = '-';

export interface SpooledStdin {
  /** The temporary file holding what standard input gave. */
  path: string;
  /** Told from the first bytes (an `InputFormat`; this module sits below inputs.ts, which reads it). */
  format: 'jsonl' | 'parquet';
  compression: 'none' | 'gzip' | 'zstd';
  sizeBytes: number;
}

let spooled: SpooledStdin | undefined;

/** The spooled standard input, when `spoolStdin` ran in this process. */
export function spooledStdin(): SpooledStdin | undefined {
  return spooled;
}

/**
 * Copies `stream` (standard input) to a temporary file once per process, and tells its format: what `-` then names
 * for `listInputs` (and so for `readCorpus`, `runScoreJob` and `pruneCorpus`).
 */
export async function spoolStdin(stream: Readable = process.stdin): Promise<SpooledStdin> {
  if (spooled) return spooled;
  const folder = mkdtempSync(join(tmpdir(), 'infoprune-stdin-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  const path = join(folder, 'stdin');
  await pipeline(stream, createWriteStream(path));
  const sniffed = sniffFormat(path);
  spooled = { path, ...sniffed, sizeBytes: statSync(path).size };
  return spooled;
}

/** Gzip and zstd by their magic numbers, Parquet by `PAR1`; anything else is taken for JSONL. */
function sniffFormat(path: string): Pick<SpooledStdin, 'format' | 'compression'> {
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { format: 'jsonl', compression: 'gzip' };
  if (length === 4 && head.readUInt32LE(0) === 0xfd2fb528) return { format: 'jsonl', compression: 'zstd' };
  if (length === 4 && head.toString('latin1') === 'PAR1') return { format: 'parquet', compression: 'none' };
  return { format: 'jsonl', compression: 'none' };
}
