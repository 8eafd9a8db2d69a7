/**
 * Words for every script (Intl.Segmenter for scripts written without spaces) and the versioned word-frequency file,
 * sized to the corpus.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoreJob } from '../src/pipeline/job.js';
import { pruneCorpus } from '../src/select/prune.js';
import { WordFrequencyTable } from '../src/text/word-frequency.js';
import { splitWords, WORD_DEFINITION_VERSION } from '../src/text/words.js';
import { brownDocuments, writeJsonl } from './fixtures/pipeline/corpus.js';
import { writeCorpus } from './fixtures/select/helpers.js';
import { createFakeScorer, FAKE_MODEL_PATH } from './helpers/fake-engine.js';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-words-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('splitWords', () => {
  it('keeps the definition for spaced scripts: letter, mark and digit runs with inner apostrophes, NFKC, lower case', () => {
    expect(splitWords("Don't STOP — ﬁne 3.14 naïve")).toEqual(["don't", 'stop', 'fine', '3', '14', 'naïve']);
    expect(splitWords('Привет, мир! Γειά σου')).toEqual(['привет', 'мир', 'γειά', 'σου']);
    expect(splitWords('   ')).toEqual([]);
  });

  it('splits Chinese, Japanese, Thai, Lao, Khmer and Myanmar text into words, not one word per sentence', () => {
    const chinese = splitWords('我们今天去北京大学。');
    expect(chinese.length).toBeGreaterThanOrEqual(4);
    expect(chinese.join('')).toBe('我们今天去北京大学');
    expect(chinese).toContain('北京');
    const thai = splitWords('ภาษาไทยง่ายมาก');
    expect(thai.length).toBeGreaterThanOrEqual(3);
    expect(thai.join('')).toBe('ภาษาไทยง่ายมาก');
    const japanese = splitWords('東京都に住んでいます');
    expect(japanese.length).toBeGreaterThanOrEqual(3);
    expect(japanese.join('')).toBe('東京都に住んでいます');
    for (const text of ['ພາສາລາວເປັນພາສາທີ່ສວຍງາມ', 'ខ្ញុំស្រលាញ់ភាសាខ្មែរ', 'မြန်မာနိုင်ငံသည်အာရှတိုက်တွင်ရှိသည်']) {
      expect(splitWords(text).join('')).toBe(text);
      expect(splitWords(text).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('splits mixed text: spaced runs as before, the unspaced runs by the word breaker', () => {
    expect(splitWords('GPU 计算 is fast')).toEqual(['gpu', '计算', 'is', 'fast']);
    const mixed = splitWords('Infoprune处理中文文本');
    expect(mixed[0]).toBe('infoprune');
    expect(mixed.slice(1).join('')).toBe('处理中文文本');
    expect(mixed.length).toBeGreaterThanOrEqual(3);
  });
});

describe('words.bin', () => {
  it('is sparse and small for a small corpus, dense when that is smaller, and reads back the same counts', () => {
    const small = new WordFrequencyTable();
    small.addWords(splitWords('the cat sat on the mat 我们今天去北京大学'));
    const bytes = small.toBuffer();
    expect(bytes.length).toBeLessThan(1024);
    const header = JSON.parse(bytes.subarray(0, bytes.indexOf(0x0a)).toString());
    expect(header).toMatchObject({ version: 2, encoding: 'sparse', words: { definition: WORD_DEFINITION_VERSION } });
    const back = WordFrequencyTable.fromBuffer(bytes);
    expect(back.total).toBe(small.total);
    expect(Buffer.compare(Buffer.from(back.counts.buffer), Buffer.from(small.counts.buffer))).toBe(0);
    expect(back.wordEntropyBits('the cat')).toBe(small.wordEntropyBits('the cat'));

    const full = new WordFrequencyTable(16);
    for (let i = 0; i < 200; i++) full.addWords([`w${i}`]);
    const dense = full.toBuffer();
    expect(JSON.parse(dense.subarray(0, dense.indexOf(0x0a)).toString()).encoding).toBe('dense');
    expect(WordFrequencyTable.fromBuffer(dense).counts).toEqual(full.counts);
  });

  it('reads version 1 tables and refuses corrupt ones', () => {
    const table = new WordFrequencyTable(8);
    table.addWords(['a', 'b', 'a']);
    const header = { format: 'infoprune-word-frequency', version: 1, hash: 'fnv1a32', buckets: 8, total: 3 };
    const v1 = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), Buffer.from(table.counts.buffer)]);
    const read = WordFrequencyTable.fromBuffer(v1);
    expect(read.wordDefinition).toBe(1);
    expect(read.counts).toEqual(table.counts);
    const sparse = table.toBuffer();
    expect(() => WordFrequencyTable.fromBuffer(sparse.subarray(0, sparse.length - 3))).toThrow(/truncated or corrupt/);
    const other = new WordFrequencyTable(8);
    expect(() => other.merge(read)).toThrow(/word definitions 1 and 2/);
  });

  it('a 20-document run writes a table of a few KiB, not 32 MiB', async () => {
    const corpus = join(folder, 'twenty.jsonl');
    writeJsonl(corpus, brownDocuments(1).slice(0, 20));
    const out = join(folder, 'twenty.scores.jsonl');
    await runScoreJob({ inputs: [corpus], model: FAKE_MODEL_PATH, scorer: createFakeScorer(), workers: 0, out });
    const size = statSync(`${out}.words.bin`).size;
    expect(size).toBeLessThan(64 * 1024);
    const table = WordFrequencyTable.load(`${out}.words.bin`);
    expect(table.buckets).toBe(WordFrequencyTable.DEFAULT_BUCKETS);
    expect(table.total).toBeGreaterThan(100);
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'));
    expect(manifest.wordFrequency.words.definition).toBe(WORD_DEFINITION_VERSION);
  });

  it('prune warns when the table was counted under the old word definition', async () => {
    const corpus = writeCorpus(
      Array.from({ length: 6 }, (_, i) => ({
        file: 'a.jsonl',
        line: i + 1,
        text: `text number ${i} 我们今天去北京大学`,
        bitsPerToken: 1 + i,
        tokens: 10,
      })),
    );
    const table = new WordFrequencyTable(1024);
    const header = { format: 'infoprune-word-frequency', version: 1, hash: 'fnv1a32', buckets: 1024, total: 0 };
    writeFileSync(
      `${corpus.scores}.words.bin`,
      Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), Buffer.from(table.counts.buffer)]),
    );
    const { summary } = await pruneCorpus({
      inputs: Object.values(corpus.files),
      scores: corpus.scores,
      out: join(corpus.folder, 'out'),
      metric: 'combined',
      keepRatio: 0.5,
    });
    expect(summary.warnings.join(' ')).toMatch(/word definition 1/);
  });
});
