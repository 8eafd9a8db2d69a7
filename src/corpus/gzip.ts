/** gzip, member by member through zlib's raw inflate, each member's CRC-32 and length checked. */
import { crc32, createInflateRaw } from 'node:zlib';
import { afterLast, type ByteSource, type DecodedPiece, damaged, truncated } from './byte-source.js';

/** Compressed bytes handed to zlib at a time: at most ~66 MB of output each (deflate's 1032:1 at worst). */
const INFLATE_WRITE_BYTES = 64 << 10;

const GZIP_FLAGS = { headerCrc: 2, extra: 4, name: 8, comment: 16, reserved: 0xe0 };

/** Consumes a gzip member header; the reason it is not one otherwise. */
async function readGzipHeader(source: ByteSource): Promise<{ reason: string } | undefined> {
  if (!(await source.ensure(10))) return { reason: 'truncated gzip header' };
  const header = source.peek(10);
  if (header[2] !== 8) return { reason: `unknown gzip compression method ${header[2]}` };
  const flags = header[3];
  if (flags & GZIP_FLAGS.reserved) return { reason: 'reserved gzip header flags set' };
  source.skip(10);
  if (flags & GZIP_FLAGS.extra) {
    if (!(await source.ensure(2))) return { reason: 'truncated gzip header' };
    const length = source.peek(2).readUInt16LE(0);
    source.skip(2);
    if (!(await source.discard(length))) return { reason: 'truncated gzip header' };
  }
  for (const flag of [GZIP_FLAGS.name, GZIP_FLAGS.comment]) {
    if (!(flags & flag)) continue;
    // A zero-terminated field: look further until its end is buffered.
    let end = -1;
    for (let want = 256; end < 0; want *= 2) {
      const available = await source.ensure(want);
      end = source.peek(want).indexOf(0);
      if (end < 0 && !available) return { reason: 'truncated gzip header' };
    }
    source.skip(end + 1);
  }
  if (flags & GZIP_FLAGS.headerCrc && !(await source.discard(2))) return { reason: 'truncated gzip header' };
  return undefined;
}

/** The members of a gzip file (usually one; `gzip -c a b`, bgzip and pigz -i write many), each verified. */
export async function* gunzipMembers(source: ByteSource): AsyncGenerator<DecodedPiece> {
  for (let first = true; ; first = false) {
    const start = source.offset;
    const magic = (await source.ensure(2)) && source.peek(2).readUInt16BE(0) === 0x1f8b;
    if (!magic) {
      const end = afterLast(source, start, first, 'gzip');
      if (end) yield end;
      return;
    }
    const header = await readGzipHeader(source);
    if (header) {
      yield damaged(start, `${header.reason} in the gzip member at byte ${start}`);
      return;
    }
    const member = yield* inflateMember(source, start);
    if (member) {
      yield member;
      return;
    }
    yield { kind: 'verified' };
  }
}

/** Inflates one member's deflate stream and checks its trailer; the damage, if any. */
async function* inflateMember(
  source: ByteSource,
  start: number,
): AsyncGenerator<DecodedPiece, DecodedPiece | undefined> {
  const inflater = createInflateRaw({ chunkSize: INFLATE_WRITE_BYTES });
  const outputs: Buffer[] = [];
  const state: { failure?: Error } = {};
  const failure = (): Error | undefined => state.failure; // read through a call: the 'error' listener sets it
  inflater.on('data', (data: Buffer) => outputs.push(data));
  // A corrupt stream ends in 'error' (then neither the write's callback nor 'end' may come): every wait races it.
  const failed = new Promise<void>((resolve) =>
    inflater.once('error', (error: Error) => {
      state.failure = error;
      resolve();
    }),
  );
  const ended = Promise.race([new Promise<void>((resolve) => inflater.once('end', resolve)), failed]);
  let crc = 0;
  let size = 0;
  let written = 0;
  let last: Buffer | undefined;
  try {
    for (;;) {
      const chunk = await source.take(INFLATE_WRITE_BYTES);
      if (!chunk) return truncated(start, `truncated gzip data: the file ends inside the member at byte ${start}`);
      await Promise.race([new Promise<void>((resolve) => inflater.write(chunk, () => resolve())), failed]);
      written += chunk.length;
      last = chunk;
      for (const data of outputs.splice(0)) {
        crc = crc32(data, crc);
        size += data.length;
        yield { kind: 'data', data };
      }
      const error = failure();
      if (error) {
        const at = start + (written - chunk.length);
        return damaged(
          start,
          `corrupt data in the gzip member at byte ${start} (seen near byte ${at}): ${error.message}`,
        );
      }
      // zlib stops consuming at the end of the deflate stream: the rest of the chunk is the trailer and beyond.
      if (inflater.bytesWritten < written) break;
    }
    await ended;
    const error = failure();
    if (error) return damaged(start, `corrupt data in the gzip member at byte ${start}: ${error.message}`);
    for (const data of outputs.splice(0)) {
      crc = crc32(data, crc);
      size += data.length;
      yield { kind: 'data', data };
    }
    source.unread(last.subarray(last.length - (written - inflater.bytesWritten)));
    if (!(await source.ensure(8)))
      return truncated(start, `truncated gzip data: the member at byte ${start} has no trailer`);
    const trailer = source.peek(8);
    source.skip(8);
    if (trailer.readUInt32LE(0) !== crc >>> 0) {
      return damaged(start, `CRC-32 mismatch in the gzip member at byte ${start}: its data is corrupt`);
    }
    if (trailer.readUInt32LE(4) !== size % 2 ** 32) {
      return damaged(start, `length mismatch in the gzip member at byte ${start}: its data is corrupt`);
    }
    return undefined;
  } finally {
    inflater.close();
  }
}
