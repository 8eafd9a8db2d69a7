/**
 * Time and peak memory of `infoprune prune` on N synthetic documents (default 1,000,000).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/prune-scale.js [--records N] [--dir D] [--metric M] [--strategy S]
 *
 * Writes a corpus (one short JSONL line a document) and its score file (in corpus order, as `infoprune score`
 * writes it) to D (default: a folder in the OS temp dir, reused when it already holds N records), then runs the
 * built CLI under `/usr/bin/time -v` (peak RSS of the prune process alone) and prints one JSON line of figures.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    dir: { type: 'string' },
    metric: { type: 'string', default: 'bits-per-token' },
    strategy: { type: 'string', default: 'lowest-first' },
    budget: { type: 'string', default: '--prune-ratio=0.3' },
  },
});
const records = Number(args.records);
const folder = resolve(args.dir ?? join(tmpdir(), `infoprune-prune-scale-${records}`));
const corpusPath = join(folder, 'corpus.jsonl');
const scoresPath = join(folder, 'scores.jsonl');
const stampPath = join(folder, 'records.txt');

async function write(path: string, line: (i: number) => string): Promise<void> {
  const stream = createWriteStream(path, { highWaterMark: 1 << 20 });
  let chunk = '';
  for (let i = 1; i <= records; i++) {
    chunk += line(i);
    if (chunk.length > 1 << 20) {
      if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
      chunk = '';
    }
  }
  stream.end(chunk);
  await new Promise<void>((resolve) => stream.once('finish', () => resolve()));
}

async function generate(): Promise<void> {
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === String(records)) return;
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const words = [
    'river',
    'stone',
    'light',
    'quantum',
    'the',
    'a',
    'of',
    'maple',
    'entropy',
    'signal',
    'harbor',
    'violet',
  ];
  let state = 1;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const texts: string[] = [];
  // 4096 distinct texts reused (the corpus's text does not matter to a bits-per-token prune; its size does).
  for (let t = 0; t < 4096; t++) {
    texts.push(
      Array.from({ length: 4 + Math.floor(next() * 12) }, () => words[Math.floor(next() * words.length)]).join(' '),
    );
  }
  await write(corpusPath, (i) => `{"text":"${texts[i & 4095]} ${i}"}\n`);
  await write(scoresPath, (i) => {
    const text = `${texts[i & 4095]} ${i}`;
    const tokens = 2 + (text.length >> 2);
    // Values with many ties (3 decimals) to exercise the tie-breaking.
    const bpt = Math.round((1 + 6 * next()) * 1000) / 1000;
    const nll = bpt * tokens * Math.LN2;
    return `{"id":"${corpusPath}:${i}","source":"${corpusPath}","line":${i},"tokens":${tokens},"nll":${nll},"bytes":${text.length},"bits_per_token":${bpt},"bits_per_byte":${nll / text.length / Math.LN2},"perplexity":${2 ** bpt},"words":4}\n`;
  });
  writeFileSync(stampPath, String(records));
}

await generate();
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const out = join(folder, 'out');
rmSync(out, { recursive: true, force: true });
const command = [
  cli,
  'prune',
  '--scores',
  scoresPath,
  '--input',
  corpusPath,
  '--out',
  out,
  '--metric',
  args.metric!,
  '--strategy',
  args.strategy!,
  args.budget!,
  '--quiet',
];
const useTime = existsSync('/usr/bin/time');
const started = performance.now();
const run = useTime
  ? spawnSync('/usr/bin/time', ['-v', process.execPath, ...command], { encoding: 'utf8' })
  : spawnSync(process.execPath, command, { encoding: 'utf8' });
const seconds = (performance.now() - started) / 1000;
if (run.status !== 0) {
  process.stderr.write(run.stdout + run.stderr);
  process.exit(1);
}
const rssKiB = /Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)?.[1];
const summary = JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')) as {
  counts: { documents: number; kept: number };
  timing: { seconds: number; scans: number };
};
process.stdout.write(
  `${JSON.stringify({
    records,
    metric: args.metric,
    strategy: args.strategy,
    budget: args.budget,
    kept: summary.counts.kept,
    wallSeconds: Number(seconds.toFixed(2)),
    pruneSeconds: summary.timing.seconds,
    cutScans: summary.timing.scans,
    maxRssMiB: rssKiB === undefined ? null : Number((Number(rssKiB) / 1024).toFixed(1)),
    corpusMiB: Number((statSync(corpusPath).size / 2 ** 20).toFixed(1)),
    scoresMiB: Number((statSync(scoresPath).size / 2 ** 20).toFixed(1)),
  })}\n`,
);
