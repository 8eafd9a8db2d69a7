/**
 * `runExperiment()` and `infoprune experiment` on a slice of the Brown corpus: held-out documents never reach a
 * training subset; the same seed on one thread trains the same target; a stopped experiment continues from its
 * finished runs (stopped by progress, not by time) and `--quick` finishes it from the command line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTokenizer } from '../src/engine/tokenizer.js';
import { readExperimentData } from '../src/experiment/data.js';
import { resolveExperimentOptions } from '../src/experiment/options.js';
import { trainAndEvaluateTarget } from '../src/experiment/targets.js';
import { runExperiment } from '../src/index.js';
import { writeInitialProbe } from '../src/train/initial-model.js';
import { joinWithBos, tokenizeAll } from '../src/train/streams.js';
import { countPreTokens, learnVocabulary } from '../src/train/vocabulary.js';
import { brownDocuments, writeJsonl } from './fixtures/pipeline/corpus.js';

const cli = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
const RESULT_FIELDS = [
  'strategy',
  'ratio',
  'regime',
  'seed',
  'tokens_trained',
  'heldout_bits_per_byte',
  'heldout_bits_per_token',
  'seconds',
];

let folder: string;
let corpus: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'infoprune-experiment-'));
  corpus = join(folder, 'corpus.jsonl');
  writeJsonl(corpus, brownDocuments(60));
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

const readJsonl = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).text as string);

describe('experiment data', () => {
  it('splits by document: no held-out text is in the pool, and the split is reproducible', async () => {
    const options = resolveExperimentOptions({ inputs: [corpus], out: join(folder, 'unused'), poolBytes: 64 * 1024 });
    const data = await readExperimentData(options);
    expect(data.pool.length).toBeGreaterThan(100);
    expect(data.heldout.length).toBeGreaterThan(3);
    const pool = new Set(data.pool.map((document) => document.text));
    expect(data.heldout.filter((text) => pool.has(text))).toEqual([]);
    const again = await readExperimentData(options);
    expect(again.heldout).toEqual(data.heldout);
    expect(again.pool.map((document) => document.text)).toEqual(data.pool.map((document) => document.text));
  });
});

describe('experiment targets', () => {
  it('trains the same target for the same seed on one thread, and another for another seed', async () => {
    const documents = brownDocuments(20).map((document) => document.text);
    const shape = { layers: 1, embedding: 64, heads: 2, kvHeads: 1, feedForward: 128, vocabularySize: 400 };
    const vocabulary = learnVocabulary(countPreTokens(documents), shape.vocabularySize);
    const initial = (seed: number) => {
      const path = join(folder, `initial-${seed}.gguf`);
      writeInitialProbe(path, shape, vocabulary, 256, seed);
      return path;
    };
    const tokenizer = openTokenizer(initial(1));
    const tokens = await tokenizeAll(tokenizer, documents);
    tokenizer.close();
    const train = (seed: number) =>
      trainAndEvaluateTarget({
        initialModel: initial(seed),
        out: join(folder, `target-${seed}.gguf`),
        keep: false,
        training: joinWithBos(tokens.slice(10), vocabulary.bosToken),
        heldoutStream: joinWithBos(tokens.slice(0, 10), vocabulary.bosToken),
        heldoutTexts: documents.slice(0, 10),
        tokens: 2048,
        seed,
        threads: 1,
      });
    const first = await train(1);
    const second = await train(1);
    const other = await train(2);
    expect(first.tokensTrained).toBe(2048);
    expect(second.heldoutBitsPerByte).toBe(first.heldoutBitsPerByte);
    expect(second.heldoutBitsPerToken).toBe(first.heldoutBitsPerToken);
    expect(other.heldoutBitsPerByte).not.toBe(first.heldoutBitsPerByte);
    // The trained models are deleted once evaluated.
    expect(readdirSync(folder).filter((name) => name.startsWith('target-'))).toEqual([]);
  });
});

describe('infoprune experiment', () => {
  it('stops when asked, continues from its finished runs, and --quick finishes it from the command line', async () => {
    const out = join(folder, 'experiment');
    const abort = new AbortController();
    let stepsWithoutRun = false;
    // Stopped by progress: once three runs are written, the fourth is cancelled part-way.
    await expect(
      runExperiment({
        inputs: [corpus],
        out,
        quick: true,
        strategies: ['lowest-first', 'random'],
        threads: 1,
        signal: abort.signal,
        onProgress: (progress) => {
          if (progress.phase === 'training' && progress.steps !== undefined) stepsWithoutRun ||= !progress.run;
          if (progress.runsDone >= 3) abort.abort();
        },
      }),
    ).rejects.toThrow();
    // Training progress names the run its steps belong to (the probe's steps used to carry over, run undefined).
    expect(stepsWithoutRun).toBe(false);
    const runsFolder = join(out, 'runs');
    const early = readdirSync(runsFolder).sort();
    expect(early.length).toBeGreaterThanOrEqual(3);
    const earlyContents = early.map((name) => readFileSync(join(runsFolder, name), 'utf8'));
    expect(existsSync(join(out, 'results.json'))).toBe(false);

    const result = spawnSync(
      process.execPath,
      [cli, 'experiment', corpus, '--out', out, '--quick', '--strategies', 'lowest-first', '--threads', '1'],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toContain(`(${early.length} from an earlier session)`);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/ETA/);
    expect(result.stderr).toMatch(/50 % pruned, equal-compute: /);
    // The earlier runs were not trained again.
    expect(early.map((name) => readFileSync(join(runsFolder, name), 'utf8'))).toEqual(earlyContents);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    // --quick: 50 % pruned in both regimes, plus the full pool, at 2 seeds (random joins lowest-first).
    expect(results.runs).toHaveLength(2 * (1 + 2 * 2));
    for (const run of results.runs) {
      for (const field of RESULT_FIELDS) expect(run, field).toHaveProperty(field);
      expect(run.heldout_bits_per_byte).toBeGreaterThan(0.5);
      expect(run.heldout_bits_per_byte).toBeLessThan(8);
    }
    const epochs = results.runs.find((run: { regime: string }) => run.regime === 'equal-epochs');
    const compute = results.runs.find((run: { regime: string }) => run.regime === 'equal-compute');
    expect(epochs.tokens_trained).toBeLessThan(compute.tokens_trained);
    // Half the pool's tokens pruned for every strategy (the default counts tokens): within a paragraph or two.
    expect(results.setup.pruneBy).toBe('tokens');
    const full = results.runs.find((run: { strategy: string }) => run.strategy === 'full');
    expect(full.kept_documents).toBe(results.setup.pool.documents);
    expect(full.kept_tokens).toBe(results.setup.pool.tokens);
    for (const run of results.runs.filter((r: { strategy: string }) => r.strategy !== 'full')) {
      expect(run.kept_tokens, run.key).toBeGreaterThanOrEqual(Math.floor(full.kept_tokens / 2));
      expect(run.kept_tokens / full.kept_tokens, run.key).toBeLessThan(0.52);
      expect(run.kept_documents).toBeLessThan(full.kept_documents);
    }
    expect(results.analysis.verdicts).toHaveLength(2);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg class="experiment"');
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain(results.analysis.verdicts[0].verdict);
    // No held-out document in the pool the subsets were cut from; no model left behind.
    const pool = new Set(readJsonl(join(out, 'data', 'pool.jsonl')));
    expect(readJsonl(join(out, 'data', 'heldout.jsonl')).filter((text) => pool.has(text))).toEqual([]);
    expect(readdirSync(join(out, 'models'))).toEqual([]);

    // Another experiment's settings in the same folder: refused unless overwritten.
    const other = spawnSync(process.execPath, [cli, 'experiment', corpus, '--out', out, '--budget', '20k'], {
      encoding: 'utf8',
    });
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/another experiment|other inputs or settings.*--overwrite/);
  }, 600_000); // Trains a probe and ten small targets on one thread: a minute on an idle machine, longer on a busy one.
});
