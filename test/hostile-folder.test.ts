/**
 * The issue's acceptance run (issue 10): `infoprune score` on one folder holding every class of hostile input
 * found so far, then `infoprune prune` on what it scored. Every good record is scored exactly once, every bad one
 * is reported with its file, its line or byte offset and the reason, no process ends by a signal, and nothing but
 * the runs' own files is written (the folder is byte-for-byte as before). Needs `npx tsc` first (runs dist/).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Xxh64 } from '../src/corpus/xxh64.js';
import { REPO_ROOT, tinyModelPath } from './helpers/models.js';

const cli = join(REPO_ROOT, 'dist/src/cli/main.js');

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'infoprune-hostile-folder-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const line = (id: unknown, text: unknown) => `${JSON.stringify({ id, text })}\n`;
const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => line(`${prefix}${i}`, `${prefix} says hello number ${i}`)).join('');

/** A zstd frame of one raw block with its content checksum. */
function zstdFrame(content: Buffer): Buffer {
  const block = Buffer.alloc(3);
  block.writeUIntLE((content.length << 3) | 1, 0, 3);
  const hash = new Xxh64();
  hash.update(content);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32LE(Number(hash.digest() & 0xffffffffn));
  return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58]), block, content, checksum]);
}

/** Every file under `folder` (links as their target text) with a hash of its bytes. */
function snapshot(folder: string): Record<string, string> {
  const found: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile())
        found[relative(folder, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
      else found[relative(folder, path)] = entry.isSymbolicLink() ? 'link' : 'special';
    }
  };
  visit(folder);
  return found;
}

/** Builds the folder; returns the ids that must be scored, and the errors expected (file, line, reason pattern). */
async function buildHostileFolder(folder: string) {
  mkdirSync(folder);
  const good: string[] = [];
  const errors: { file: string; line: number; reason: RegExp }[] = [];
  const write = (name: string, content: string | Buffer) => writeFileSync(join(folder, name), content);
  const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

  write('a-good.jsonl', lines('good', 4));
  good.push(...ids('good', 4));
  write(
    'b-malformed.jsonl',
    `${line('m0', 'fine')}{"id": "m1", "text": \n${JSON.stringify({ id: 'm2' })}\n${line('m3', 42)}${line('m4', '')}[1,2]\n${line('m6', 'fine too')}`,
  );
  good.push('m0', 'm6');
  errors.push(
    { file: 'b-malformed.jsonl', line: 2, reason: /malformed JSON/ },
    { file: 'b-malformed.jsonl', line: 3, reason: /missing text field/ },
    { file: 'b-malformed.jsonl', line: 4, reason: /not a string/ },
    { file: 'b-malformed.jsonl', line: 5, reason: /empty text/ },
    { file: 'b-malformed.jsonl', line: 6, reason: /not a JSON object/ },
  );
  // Ids beyond 2^53 that a double would make equal, and invalid UTF-8.
  write(
    'c-ids.jsonl',
    Buffer.concat([
      Buffer.from(
        '{"id": 9007199254740993, "text": "first big id"}\n{"id": 9007199254740992, "text": "second big id"}\n',
      ),
      Buffer.from('{"id": "bad-utf8", "text": "caf\xe9"}\n', 'latin1'),
    ]),
  );
  good.push('9007199254740993', '9007199254740992');
  errors.push({ file: 'c-ids.jsonl', line: 3, reason: /invalid UTF-8/ });
  // zstd with a flipped bit in its second frame: the first frame's records only, the damage at its byte offset.
  const frameOne = zstdFrame(Buffer.from(lines('zone', 3)));
  const damaged = Buffer.concat([frameOne, zstdFrame(Buffer.from(lines('ztwo', 3)))]);
  damaged[frameOne.length + 9 + 30] ^= 0x02;
  write('d-flipped.jsonl.zst', damaged);
  good.push(...ids('zone', 3));
  errors.push({
    file: 'd-flipped.jsonl.zst',
    line: 4,
    reason: new RegExp(`checksum mismatch .* at byte ${frameOne.length}`),
  });
  // gzip with trailing garbage (read as gzip -d does), and gzip cut short.
  const member = gzipSync(lines('gz', 3));
  write('e-trailing.jsonl.gz', Buffer.concat([member, Buffer.from('NOT GZIP')]));
  good.push(...ids('gz', 3));
  errors.push({
    file: 'e-trailing.jsonl.gz',
    line: 4,
    reason: new RegExp(`trailing data: 8 bytes at byte ${member.length}`),
  });
  const whole = gzipSync(lines('cutA', 2));
  write('f-cut.jsonl.gz', Buffer.concat([whole, gzipSync(lines('cutB', 50)).subarray(0, 40)]));
  good.push(...ids('cutA', 2));
  errors.push({ file: 'f-cut.jsonl.gz', line: 3, reason: /truncated|cut|unexpected end/i });
  // Other names for JSONL; a document over --max-document-bytes; CRLF lines; an empty file.
  write('g-notes.jsonlines', lines('jl', 2));
  write('h-data.ndjson', lines('nd', 2));
  good.push(...ids('jl', 2), ...ids('nd', 2));
  write('i-sizes.jsonl', `${line('small', 'short text')}${line('huge', 'x'.repeat(5000))}`);
  good.push('small');
  errors.push({ file: 'i-sizes.jsonl', line: 2, reason: /larger than|max/i });
  write('j-crlf.jsonl', lines('crlf', 2).replaceAll('\n', '\r\n'));
  good.push(...ids('crlf', 2));
  write('k-empty.jsonl', '');
  // Parquet with a binary column beside the text.
  const parquet = new ParquetWriter({
    writer: fileWriter(join(folder, 'l-table.parquet')),
    schema: [
      { name: 'root', num_children: 3 },
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'blob', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
    ],
  });
  await parquet.write({
    columnData: [
      { name: 'id', data: ['pq0', 'pq1'] },
      { name: 'text', data: ['a parquet row', null] },
      { name: 'blob', data: [new Uint8Array([0x61, 0xff, 0xfe]), new Uint8Array([0])] },
    ],
  });
  await parquet.finish();
  good.push('pq0');
  errors.push({ file: 'l-table.parquet', line: 1, reason: /null/ });
  // Files a folder may hold that are not read: each is reported, none is opened (a FIFO would block forever).
  write('m-archive.jsonl.xz', 'not really xz');
  write('n-archive.jsonl.bz2', 'not really bz2');
  write('README', 'a readme');
  symlinkSync(join(folder, 'nowhere.jsonl'), join(folder, 'o-broken-link.jsonl'));
  spawnSync('mkfifo', [join(folder, 'p-pipe.jsonl')]);
  return {
    good,
    errors,
    unread: ['m-archive.jsonl.xz', 'n-archive.jsonl.bz2', 'README', 'o-broken-link.jsonl', 'p-pipe.jsonl'],
  };
}

describe('the hostile folder (issue 10 acceptance)', () => {
  it('scores every good record once, reports every bad one with where and why, and writes only its own files', async () => {
    const folder = join(root, 'corpus');
    const expected = await buildHostileFolder(folder);
    const before = snapshot(folder);
    const out = join(root, 'out', 'scores.jsonl');
    mkdirSync(join(root, 'out'));
    const engine = [
      '--model',
      tinyModelPath(),
      '--context',
      '64',
      '--threads',
      '1',
      '--workers',
      '0',
      '--word-buckets',
      '1024',
    ];
    const score = spawnSync(
      process.execPath,
      [cli, 'score', folder, '--out', out, '--max-document-bytes', '2000', ...engine],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(score.signal).toBeNull();
    expect(score.status, score.stderr).toBe(3); // completed, with more than 1 % of the records failed
    const scored = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text).id);
    expect(scored.sort()).toEqual([...expected.good].sort());
    const reported = readFileSync(`${out}.errors.jsonl`, 'utf8')
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text) as { source: string; line: number; reason: string });
    for (const error of expected.errors) {
      expect(reported).toContainEqual({
        source: join(folder, error.file),
        line: error.line,
        reason: expect.stringMatching(error.reason),
      });
    }
    expect(reported).toHaveLength(expected.errors.length);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    const unread = manifest.skippedInputs.map((skipped: { path: string }) => relative(folder, skipped.path));
    expect(unread.sort()).toEqual([...expected.unread].sort());
    for (const name of expected.unread) expect(score.stderr).toContain(name);

    // prune takes what score skipped from its errors file, and copies the kept records exactly.
    const pruned = join(root, 'out', 'pruned');
    const prune = spawnSync(
      process.execPath,
      [cli, 'prune', '--input', folder, '--scores', out, '--out', pruned, '--prune-ratio', '0.3'],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(prune.signal).toBeNull();
    expect(prune.status, prune.stderr).toBe(0);
    const selection = JSON.parse(readFileSync(join(pruned, 'selection.json'), 'utf8'));
    expect(selection.counts.documents).toBe(expected.good.length);
    expect(snapshot(folder)).toEqual(before);
    expect(statSync(join(folder, 'p-pipe.jsonl')).isFIFO()).toBe(true);
  }, 300_000);
});
