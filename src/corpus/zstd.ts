/**
 * zstd, frame by frame through fzstd (pure JS: Node 20's zlib has no zstd), each frame's XXH64 content checksum and
 * content size checked (fzstd itself skips them); skippable frames skipped.
 */
import { afterLast, type ByteSource, type DecodedPiece, damaged, describeError, truncated } from './byte-source.js';
import { Xxh64 } from './xxh64.js';

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_MAX_BLOCK = 128 << 10;

/** The frames of a zstd file (skippable frames skipped), each checked against its checksum and content size. */
export async function* zstdFrames(source: ByteSource): AsyncGenerator<DecodedPiece> {
  const { Decompress } = await import('fzstd');
  for (let first = true; ; first = false) {
    const start = source.offset;
    const magic = (await source.ensure(4)) ? source.peek(4).readUInt32LE(0) : undefined;
    if (magic !== undefined && (magic & 0xfffffff0) === 0x184d2a50) {
      // A skippable frame (metadata for seekable or pzstd files): no data.
      const skippable = (await source.ensure(8)) && (await source.discard(8 + source.peek(8).readUInt32LE(4)));
      if (!skippable) {
        yield damaged(start, `truncated zstd data: the skippable frame at byte ${start} is cut short`);
        return;
      }
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      const end = afterLast(source, start, first, 'zstd');
      if (end) yield end;
      return;
    }
    const frame = yield* decodeZstdFrame(source, start, (onData) => new Decompress(onData));
    if (frame) {
      yield frame;
      return;
    }
    yield { kind: 'verified' };
  }
}

interface ZstdHeader {
  bytes: number;
  checksum: boolean;
  contentSize: number | undefined;
}

/** A zstd frame header's size and flags (RFC 8878 3.1.1.1), or why it cannot be decoded. */
function parseZstdHeader(bytes: Buffer): ZstdHeader | { reason: string } {
  const descriptor = bytes[4];
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if ((descriptor >> 3) & 1) return { reason: 'a reserved bit is set in its header' };
  if (descriptor & 3) return { reason: 'it needs a dictionary, which infoprune cannot supply' };
  const sizeBytes = sizeFlag === 0 ? singleSegment : [0, 2, 4, 8][sizeFlag];
  const at = 5 + (singleSegment ? 0 : 1);
  let contentSize: number | undefined;
  if (sizeBytes > 0) {
    contentSize = 0;
    for (let i = sizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + bytes[at + i];
    if (sizeBytes === 2) contentSize += 256;
  }
  return { bytes: at + sizeBytes, checksum: ((descriptor >> 2) & 1) === 1, contentSize };
}

type ZstdDecoder = { push(chunk: Uint8Array, final?: boolean): void };

/**
 * One frame: its blocks fed to fzstd as they are read (the last one with the checksum and `final`, which makes fzstd
 * decode a frame shorter than its 18-byte look-ahead), its output hashed; the damage, if any.
 */

async function* decodeZstdFrame(
  source: ByteSource,
  start: number,
  makeDecoder: (onData: (data: Uint8Array) => void) => ZstdDecoder,
): AsyncGenerator<DecodedPiece, DecodedPiece | undefined> {
  const where = `the zstd frame at byte ${start}`;
  if (!(await source.ensure(18)) && !(await source.ensure(6)))
    return truncated(start, `truncated zstd data: ${where} is cut short`);
  const header = parseZstdHeader(source.peek(18));
  if ('reason' in header) return damaged(start, `${where} cannot be decoded: ${header.reason}`);
  const outputs: Uint8Array[] = [];
  const decoder = makeDecoder((data) => outputs.push(data));
  const hash = new Xxh64();
  let size = 0;
  const feed = function* (
    bytes: Buffer,
    blockStart: number,
    final = false,
  ): Generator<DecodedPiece, DecodedPiece | undefined> {
    try {
      decoder.push(bytes, final);
    } catch (error) {
      return damaged(start, `corrupt zstd data in ${where} (block at byte ${blockStart}): ${describeError(error)}`);
    }
    for (const data of outputs.splice(0)) {
      hash.update(data);
      size += data.length;
      yield { kind: 'data', data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
    }
    return undefined;
  };
  if (!(await source.ensure(header.bytes))) return truncated(start, `truncated zstd data: ${where} is cut short`);
  const headerBytes = Buffer.from(source.peek(header.bytes));
  source.skip(header.bytes);
  let failure = yield* feed(headerBytes, start);
  for (let last = false; !last && !failure; ) {
    const blockStart = source.offset;
    if (!(await source.ensure(3))) return truncated(start, `truncated zstd data: ${where} is cut short`);
    const blockHeader = source.peek(3).readUIntLE(0, 3);
    last = (blockHeader & 1) === 1;
    const type = (blockHeader >> 1) & 3;
    const length = type === 1 ? 1 : blockHeader >>> 3;
    if (type === 3 || length > ZSTD_MAX_BLOCK) {
      return damaged(start, `corrupt zstd data in ${where}: an invalid block header at byte ${blockStart}`);
    }
    const checksumBytes = last && header.checksum ? 4 : 0;
    if (!(await source.ensure(3 + length + checksumBytes))) {
      return truncated(start, `truncated zstd data: ${where} is cut short`);
    }
    const block = Buffer.from(source.peek(3 + length + checksumBytes));
    source.skip(block.length);
    failure = yield* feed(block, blockStart, last);
    if (last && checksumBytes > 0 && !failure && hash.digestLow32() !== block.readUInt32LE(3 + length)) {
      return damaged(start, `checksum mismatch in ${where}: its data is corrupt`);
    }
  }
  if (failure) return failure;
  if (header.contentSize !== undefined && header.contentSize !== size) {
    return damaged(
      start,
      `corrupt zstd data: ${where} decodes to ${size} bytes, its header says ${header.contentSize}`,
    );
  }
  return undefined;
}
