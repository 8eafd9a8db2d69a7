/**
 * The per-token sidecar of a score file (`--token-logprobs`): for every scored document, its token ids and each
 * token's natural-log probability under the model, so that spans rather than whole documents can be pruned.
 *
 * - `<scores>.logprobs.bin`: a 256-byte header (JSON, padded with spaces, ending in a newline), then per document its
 *   n token ids as little-endian int32 followed by their n log-probabilities as little-endian float32. n counts every
 *   text token (special-token parsing off, no BOS); when the model adds no BOS the first token has no context and its
 *   log-probability is NaN. Exact duplicates (one text scored once) share one copy of the data.
 * - `<scores>.logprobs.idx`: a 256-byte header, then per record of the score file, in its order, two little-endian
 *   int64: the document's byte offset in the .bin file and n.
 *
 * In numpy: `idx = np.fromfile(f + '.logprobs.idx', '<i8', offset=256).reshape(-1, 2)`;
 * `ids = np.fromfile(bin, '<i4', count=n, offset=o)`; `lp = np.fromfile(bin, '<f4', count=n, offset=o + 4 * n)`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InfopruneError } from '../errors.js';
import { scoreFilePaths } from './files.js';
import { readScoreFile } from './read.js';
import type { ScoreRecord } from './record.js';

export const TOKEN_LOGPROBS_FORMAT = 'infoprune-token-logprobs';
export const SIDECAR_HEADER_BYTES = 256;
export const INDEX_ENTRY_BYTES = 16;

/** A sidecar file's header: what it is, which file of the pair, and the BOS policy that explains a NaN first entry. */
export function sidecarHeader(kind: 'data' | 'index', addsBos: boolean): Buffer {
  const json = JSON.stringify({ format: TOKEN_LOGPROBS_FORMAT, version: 1, kind, addsBos });
  return Buffer.from(`${json.padEnd(SIDECAR_HEADER_BYTES - 1, ' ')}\n`, 'utf8');
}

/**
 * The scored tokens' log-probabilities aligned with a document's n text tokens: the engine scores every token with
 * BOS, all but the first without (whose entry is then NaN).
 */
export function alignedLogprobs(n: number, logprobs: Float32Array | undefined, addsBos: boolean): Float32Array {
  const values = new Float32Array(n).fill(Number.NaN);
  const first = addsBos ? 0 : 1;
  if (logprobs !== undefined && n > first)
    values.set(logprobs.subarray(0, Math.min(logprobs.length, n - first)), first);
  return values;
}

/** A document's data: its token ids, then a log-probability per token (NaN for a first token scored without BOS). */
export function encodeTokenData(tokens: Int32Array, logprobs: Float32Array | undefined, addsBos: boolean): Buffer {
  const n = tokens.length;
  const data = Buffer.alloc(8 * n);
  Buffer.from(tokens.buffer, tokens.byteOffset, tokens.byteLength).copy(data, 0);
  Buffer.from(alignedLogprobs(n, logprobs, addsBos).buffer).copy(data, 4 * n);
  return data;
}

/** An index entry: where a record's document lies in the data file. */
export function encodeIndexEntry(offset: number, count: number): Buffer {
  const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
  entry.writeBigInt64LE(BigInt(offset), 0);
  entry.writeBigInt64LE(BigInt(count), 8);
  return entry;
}

/** A scored document with its tokens. */
export interface TokenLogprobs {
  record: ScoreRecord;
  /** Token ids, in order (every text token). */
  tokens: Int32Array;
  /** ln p of each token given the ones before it; NaN for a first token the model scores without BOS. */
  logprobs: Float32Array;
}

function checkHeader(fd: number, path: string, kind: 'data' | 'index'): void {
  const header = Buffer.alloc(SIDECAR_HEADER_BYTES);
  const read = readSync(fd, header, 0, SIDECAR_HEADER_BYTES, 0);
  let parsed: { format?: unknown; version?: unknown; kind?: unknown } = {};
  try {
    parsed = JSON.parse(header.subarray(0, read).toString('utf8'));
  } catch {
    // reported below
  }
  if (parsed.format !== TOKEN_LOGPROBS_FORMAT || parsed.version !== 1 || parsed.kind !== kind) {
    throw new InfopruneError('SCORES_INVALID', `${path} is not an infoprune token log-probability ${kind} file`);
  }
}

/**
 * The records of a score file with their tokens and log-probabilities, from the sidecar written beside it (score
 * with `tokenLogprobs`). Streams: memory is one document.
 */
export async function* readTokenLogprobs(scoresPath: string): AsyncGenerator<TokenLogprobs> {
  const paths = scoreFilePaths(scoresPath);
  let dataFd: number;
  let indexFd: number;
  try {
    dataFd = openSync(paths.tokenLogprobs, 'r');
    indexFd = openSync(paths.tokenIndex, 'r');
  } catch {
    throw new InfopruneError(
      'SCORES_NOT_FOUND',
      (name) =>
        `${scoresPath} has no token log-probabilities (${paths.tokenIndex}): score with ${name('tokenLogprobs')}`,
    );
  }
  try {
    checkHeader(dataFd, paths.tokenLogprobs, 'data');
    checkHeader(indexFd, paths.tokenIndex, 'index');
    const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
    let i = 0;
    for await (const record of readScoreFile(scoresPath)) {
      const at = SIDECAR_HEADER_BYTES + i * INDEX_ENTRY_BYTES;
      if (readSync(indexFd, entry, 0, INDEX_ENTRY_BYTES, at) !== INDEX_ENTRY_BYTES) {
        throw new InfopruneError('SCORES_INVALID', `${paths.tokenIndex} ends before record ${i + 1} of ${scoresPath}`);
      }
      const offset = Number(entry.readBigInt64LE(0));
      const n = Number(entry.readBigInt64LE(8));
      const data = Buffer.alloc(8 * n);
      if (n > 0 && readSync(dataFd, data, 0, data.length, offset) !== data.length) {
        throw new InfopruneError(
          'SCORES_INVALID',
          `${paths.tokenLogprobs} is truncated (record ${i + 1} of ${scoresPath})`,
        );
      }
      const tokens = new Int32Array(n);
      const logprobs = new Float32Array(n);
      new Uint8Array(tokens.buffer).set(data.subarray(0, 4 * n));
      new Uint8Array(logprobs.buffer).set(data.subarray(4 * n));
      yield { record, tokens, logprobs };
      i++;
    }
  } finally {
    closeSync(dataFd);
    closeSync(indexFd);
  }
}
