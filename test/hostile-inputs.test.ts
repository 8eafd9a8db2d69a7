/**
 * Reading hostile inputs (issue 10, items 5, 16, 17): damaged gzip and zstd files give every record before the
 * damage (verified by the member's CRC or the frame's checksum) and report the rest with the byte offset where the
 * damage begins, trailing garbage is reported and everything before it read (as gzip -d does), ids are kept exactly
 * as written, and files a folder holds that are not read are reported one by one.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CorpusRecord, type RecordError, readCorpus } from '../src/corpus/read.js';
import { Xxh64 } from '../src/corpus/xxh64.js';

const FIXTURES = new URL('./fixtures/corpus/', import.meta.url).pathname;

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-hostile-inputs-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function read(inputs: string[], options: Parameters<typeof readCorpus>[1] = {}) {
  const records: CorpusRecord[] = [];
  const errors: RecordError[] = [];
  for await (const record of readCorpus(inputs, { ...options, onError: (error) => errors.push(error) })) {
    records.push(record);
  }
  return { records, errors };
}

function jsonl(prefix: string, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `${JSON.stringify({ id: `${prefix}${i}`, text: `${prefix} record ${i}` })}\n`;
  return text;
}

/** A zstd frame of raw (stored) blocks with its XXH64 checksum: a flipped bit in it changes the text silently. */
function rawZstdFrame(content: Buffer): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58]); // checksum flag; window descriptor 2^21
  const blocks: Buffer[] = [];
  for (let at = 0; at < content.length || at === 0; at += 100_000) {
    const piece = content.subarray(at, at + 100_000);
    const last = at + 100_000 >= content.length ? 1 : 0;
    const blockHeader = Buffer.alloc(3);
    blockHeader.writeUIntLE((piece.length << 3) | last, 0, 3); // type 0: raw
    blocks.push(blockHeader, piece);
  }
  const hash = new Xxh64();
  hash.update(content);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32LE(Number(hash.digest() & 0xffffffffn));
  return Buffer.concat([header, ...blocks, checksum]);
}

describe('damaged compressed files (item 5)', () => {
  it('reads a real two-frame zstd file (checksums verified) exactly', async () => {
    const { records, errors } = await read([join(FIXTURES, 'two-frames.jsonl.zst')]);
    expect(errors).toEqual([]);
    const expected = readFileSync(join(FIXTURES, 'two-frames.jsonl'), 'utf8').trimEnd().split('\n');
    expect(records.map((record) => record.raw!.toString('utf8'))).toEqual(expected);
  });

  it('zstd: a flipped bit in a frame loses only that frame, reported at its byte offset', async () => {
    const first = Buffer.from(jsonl('one', 30));
    const second = Buffer.from(jsonl('two', 30));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const frameOne = rawZstdFrame(first);
    const bytes = Buffer.concat([
      frameOne,
      skippable,
      rawZstdFrame(second),
      rawZstdFrame(Buffer.from(jsonl('three', 5))),
    ]);
    const secondStart = frameOne.length + skippable.length;
    const path = join(folder, 'flipped.jsonl.zst');
    writeFileSync(path, bytes);
    expect((await read([path])).records).toHaveLength(65);
    bytes[secondStart + 6 + 3 + 40] ^= 0x04; // a letter of a record's text in frame two: still valid JSON
    writeFileSync(path, bytes);
    const { records, errors } = await read([path]);
    expect(records.map((record) => record.id)).toEqual(Array.from({ length: 30 }, (_, i) => `one${i}`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ source: path, line: 31 });
    expect(errors[0].reason).toMatch(
      new RegExp(`checksum mismatch in the zstd frame at byte ${secondStart}.*records from line 31 on are not read`),
    );
  });

  it('zstd: truncated, or not zstd at all', async () => {
    const bytes = Buffer.concat([
      rawZstdFrame(Buffer.from(jsonl('one', 10))),
      rawZstdFrame(Buffer.from(jsonl('two', 10))),
    ]);
    const path = join(folder, 'cut.jsonl.zst');
    writeFileSync(path, bytes.subarray(0, bytes.length - 7));
    const cut = await read([path]);
    expect(cut.records).toHaveLength(10);
    expect(cut.errors[0].reason).toMatch(/truncated zstd data.*line 11/);
    const junk = join(folder, 'junk.jsonl.zst');
    writeFileSync(junk, 'this is not zstd\n');
    expect((await read([junk])).errors[0].reason).toMatch(/not zstd data.*line 1 on/);
  });

  it('gzip: a corrupt member loses only that member; a CRC mismatch is caught', async () => {
    const one = gzipSync(jsonl('one', 25));
    const two = gzipSync(jsonl('two', 25));
    const bytes = Buffer.concat([one, two, gzipSync(jsonl('three', 5))]);
    const path = join(folder, 'members.jsonl.gz');
    writeFileSync(path, bytes);
    expect((await read([path])).records).toHaveLength(55);
    const crc = Buffer.from(bytes);
    crc[one.length + two.length - 8] ^= 0x01; // member two's stored CRC-32
    writeFileSync(path, crc);
    const { records, errors } = await read([path]);
    expect(records.map((record) => record.id)).toEqual(Array.from({ length: 25 }, (_, i) => `one${i}`));
    expect(errors).toHaveLength(1);
    expect(errors[0].line).toBe(26);
    expect(errors[0].reason).toMatch(new RegExp(`CRC-32 mismatch in the gzip member at byte ${one.length}`));
    const corrupt = Buffer.from(bytes);
    for (let i = 20; i < 40; i++) corrupt[one.length + i] ^= 0xff;
    writeFileSync(path, corrupt);
    const second = await read([path]);
    expect(second.records).toHaveLength(25);
    expect(second.errors[0].reason).toMatch(new RegExp(`gzip member at byte ${one.length}`));
  });

  it('gzip: trailing garbage is reported and everything gzip -d recovers is read', async () => {
    const member = gzipSync(jsonl('kept', 12));
    for (const [name, tail] of [
      ['garbage', Buffer.from('GARBAGE AFTER THE MEMBER')],
      ['zeros', Buffer.alloc(512)],
    ] as const) {
      const path = join(folder, `trailing-${name}.jsonl.gz`);
      writeFileSync(path, Buffer.concat([member, tail]));
      const { records, errors } = await read([path]);
      expect(records).toHaveLength(12);
      expect(errors).toEqual([
        {
          source: path,
          line: 13,
          reason: expect.stringMatching(new RegExp(`trailing data: ${tail.length} bytes at byte ${member.length}`)),
        },
      ]);
    }
  });

  it('gzip: a cut file keeps every whole record decoded before the cut (a cut damages no byte before it)', async () => {
    const one = gzipSync(jsonl('one', 10));
    const bytes = Buffer.concat([one, gzipSync(jsonl('two', 200))]);
    const path = join(folder, 'cut.jsonl.gz');
    writeFileSync(path, bytes.subarray(0, bytes.length - 3)); // inside member two's trailer
    const trailer = await read([path]);
    expect(trailer.records).toHaveLength(210);
    expect(trailer.errors).toEqual([
      {
        source: path,
        line: 211,
        reason: expect.stringMatching(new RegExp(`member at byte ${one.length} has no trailer`)),
      },
    ]);
    writeFileSync(path, bytes.subarray(0, one.length + 400)); // inside member two's data
    const { records, errors } = await read([path]);
    expect(records.length).toBeGreaterThan(10);
    expect(records.length).toBeLessThan(210);
    expect(records.map((record) => record.text)).toEqual(
      (jsonl('one', 10) + jsonl('two', 200))
        .split('\n')
        .slice(0, records.length)
        .map((line) => JSON.parse(line).text),
    );
    expect(errors).toEqual([
      {
        source: path,
        line: records.length + 1,
        reason: expect.stringMatching(/^truncated gzip data: the file ends inside the member/),
      },
    ]);
    const empty = join(folder, 'empty.jsonl.gz');
    writeFileSync(empty, '');
    expect((await read([empty])).errors[0].reason).toMatch(/empty/);
  });

  it('whole-file text: a damaged file is reported, not read', async () => {
    const path = join(folder, 'story.txt.gz');
    const bytes = gzipSync('Once upon a time.');
    bytes[bytes.length - 6] ^= 1;
    writeFileSync(path, bytes);
    const { records, errors } = await read([path]);
    expect(records).toEqual([]);
    expect(errors[0].reason).toMatch(/CRC-32 mismatch.*the document is not read/);
  });
});

describe('ids exactly as written (item 16)', () => {
  it('keeps big integer ids as their source text, so they never collide', async () => {
    const path = join(folder, 'big-ids.jsonl');
    writeFileSync(
      path,
      '{"id": 9007199254740993, "text": "a"}\n{"id":9007199254740992,"text":"b"}\n' +
        '{"text":"c","id":12345678901234567891}\n{"id":1.50,"text":"d"}\n{"id":"s","text":"e"}\n',
    );
    const { records } = await read([path]);
    expect(records.map((record) => record.id)).toEqual([
      '9007199254740993',
      '9007199254740992',
      '12345678901234567891',
      '1.50',
      's',
    ]);
  });
});

describe('folders: every file not read is reported (item 17)', () => {
  it('reads .jsonlines and .ndjson as JSONL and reports .xz, .bz2 and unknown files', async () => {
    const data = join(folder, 'mixed');
    mkdirSync(data);
    writeFileSync(join(data, 'a.jsonlines'), jsonl('a', 2));
    writeFileSync(join(data, 'b.ndjson'), jsonl('b', 2));
    writeFileSync(join(data, 'c.jsonl.xz'), 'xz bytes');
    writeFileSync(join(data, 'd.jsonl.bz2'), 'bz2 bytes');
    writeFileSync(join(data, 'e.csv'), 'id,text\n');
    const { records, errors } = await read([data]);
    expect(records.map((record) => record.id)).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(errors).toEqual([
      { source: join(data, 'c.jsonl.xz'), line: 0, reason: expect.stringMatching(/xz files are not supported.*xz -d/) },
      { source: join(data, 'd.jsonl.bz2'), line: 0, reason: expect.stringMatching(/bz2 files are not supported/) },
      { source: join(data, 'e.csv'), line: 0, reason: expect.stringMatching(/unknown format \(\.csv\)/) },
    ]);
  });
});
