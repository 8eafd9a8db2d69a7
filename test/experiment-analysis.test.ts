/**
 * The experiment's pure parts: the verdict logic on synthetic results with a known difference and with none, the
 * subsets each strategy cuts (they differ as the strategies say), the run plan, and report.html in headless Chromium.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, compare, confidenceHalfWidth, spread, tQuantile975 } from '../src/experiment/analysis.js';
import type { PoolDocument } from '../src/experiment/data.js';
import { renderExperimentMarkdown } from '../src/experiment/markdown.js';
import {
  EXPERIMENT_STRATEGY_NAMES,
  type ExperimentStrategyName,
  experimentKey,
  type PruneUnit,
  resolveExperimentOptions,
} from '../src/experiment/options.js';
import type { RunResult } from '../src/experiment/plan.js';
import { planRuns, tokensFor } from '../src/experiment/plan.js';
import { renderExperimentReport } from '../src/experiment/report.js';
import { experimentFiles, prepareFolder, type ResultsFile } from '../src/experiment/results.js';
import { type PoolScores, poolWordFrequencies, subsetFor } from '../src/experiment/subsets.js';

/** A seeded generator of standard normal noise (Box–Muller over an LCG). */
function noise(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state + 1) / (2 ** 32 + 2);
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Synthetic runs at 8 seeds: each seed shifts every strategy alike (the paired part of the noise), each run adds
 * its own small noise; `effects` is each strategy's true difference to random.
 */
function syntheticRuns(effects: Record<string, number>, seeds = 8): RunResult[] {
  const shared = noise(7);
  const own = noise(11);
  const runs: RunResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const seedShift = 0.05 * shared();
    const add = (strategy: string, ratio: number, regime: string, effect: number) =>
      runs.push({
        key: `${strategy}-${ratio}-${regime}-${seed}`,
        strategy,
        ratio,
        regime,
        seed,
        tokens_trained: 1000,
        heldout_bits_per_byte: 2 + seedShift + effect + 0.002 * own(),
        heldout_bits_per_token: 8 + 4 * (seedShift + effect),
        seconds: 1,
        kept_fraction: strategy === 'full' ? 1 : 0.7,
        kept_tokens: strategy === 'full' ? 1000 : 700,
        kept_documents: strategy === 'full' ? 100 : 70,
        steps: 4,
      });
    add('full', 0, 'both', -0.03);
    for (const [strategy, effect] of Object.entries(effects)) add(strategy, 0.3, 'equal-compute', effect);
  }
  return runs;
}

describe('experiment analysis', () => {
  it('computes mean, sample sd and the t quantile', () => {
    expect(spread([1, 2, 3, 4])).toEqual({ n: 4, mean: 2.5, sd: Math.sqrt(5 / 3) });
    expect(spread([5])).toEqual({ n: 1, mean: 5, sd: 0 });
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(4)).toBeCloseTo(2.776, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.042, 3);
    // Beyond the table: t(0.975, 60) = 2.000, t(0.975, 120) = 1.980, both within 0.001.
    expect(Math.abs(tQuantile975(60) - 2.0003)).toBeLessThan(1e-3);
    expect(Math.abs(tQuantile975(120) - 1.9799)).toBeLessThan(1e-3);
    expect(confidenceHalfWidth({ n: 4, mean: 1, sd: 2 })).toBeCloseTo((3.182 * 2) / 2, 3);
    expect(confidenceHalfWidth({ n: 1, mean: 1, sd: 0 })).toBeNull();
  });

  it('finds a known difference, in the right direction, and none where there is none', () => {
    // lowest-first is truly 0.02 bits/byte better than random, highest-first 0.02 worse, middle the same as random.
    const { comparisons, verdicts } = analyse(
      syntheticRuns({ random: 0, 'lowest-first': -0.02, 'highest-first': 0.02, middle: 0 }),
    );
    const of = (strategy: string) => comparisons.find((c) => c.strategy === strategy)!;
    expect(of('lowest-first').outcome).toBe('better');
    expect(of('lowest-first').difference.mean).toBeCloseTo(-0.02, 2);
    expect(of('lowest-first').verdict).toMatch(
      /^lowest-first beats random by 0\.02\d\d ± 0\.00\d\d bits\/byte \(95 % CI, 8 seeds\)$/,
    );
    expect(of('highest-first').outcome).toBe('worse');
    expect(of('middle').outcome).toBe('no-difference');
    expect(of('middle').verdict).toMatch(/^no difference detectable at this budget/);
    // The seed's shared shift (sd 0.05) is far larger than the effect: only the pairing makes it visible.
    expect(of('lowest-first').halfWidth!).toBeLessThan(0.01);
    expect(of('full').outcome).toBe('better');
    expect(verdicts).toEqual([
      { ratio: 0.3, regime: 'equal-compute', verdict: `30 % pruned, equal-compute: ${of('lowest-first').verdict}` },
    ]);
  });

  it('says so when nothing differs, and when there are too few seeds', () => {
    const none = analyse(syntheticRuns({ random: 0, 'lowest-first': 0, middle: 0 }));
    expect(none.comparisons.filter((c) => c.strategy !== 'full').map((c) => c.outcome)).toEqual([
      'no-difference',
      'no-difference',
    ]);
    expect(none.verdicts[0].verdict).toBe('30 % pruned, equal-compute: no difference detectable at this budget');
    const one = analyse(syntheticRuns({ random: 0, 'lowest-first': -0.5 }, 1));
    expect(one.comparisons.map((c) => c.outcome)).toEqual(['too-few-seeds', 'too-few-seeds']);
    expect(one.verdicts[0].verdict).toMatch(/too few seeds/);
  });

  it('writes the verdicts and tables as Markdown', () => {
    const runs = syntheticRuns({ random: 0, 'lowest-first': -0.02 }, 3);
    const analysis = analyse(runs);
    const text = renderExperimentMarkdown({ version: 1, createdAt: '', infoprune: 'test', setup: {}, runs, analysis });
    for (const verdict of analysis.verdicts) expect(text).toContain(`- ${verdict.verdict}`);
    expect(text).toMatch(/\| full pool \| 0 % \| both \| 1\.000 \| 100 \| 1000 \| 3 \| \d\.\d{4} ± \d\.\d{4} \|/);
    expect(text.split('\n').filter((line) => line.startsWith('| lowest-first '))).toHaveLength(2);
  });

  it('pairs by seed: a seed only one side ran is left out', () => {
    const pairs = new Map<number, [number, number]>([
      [1, [1.0, 1.1]],
      [2, [2.0, 2.1]],
      [3, [3.0, 3.1]],
    ]);
    const comparison = compare('lowest-first', 0.3, 'equal-compute', pairs);
    expect(comparison.seeds).toEqual([1, 2, 3]);
    expect(comparison.difference.mean).toBeCloseTo(-0.1, 12);
    expect(comparison.difference.sd).toBeLessThan(1e-12);
    const runs = syntheticRuns({ random: 0, 'lowest-first': -0.02 }, 4).filter(
      (r) => !(r.strategy === 'random' && r.seed === 4),
    );
    expect(analyse(runs).comparisons.find((c) => c.strategy === 'lowest-first')!.seeds).toEqual([1, 2, 3]);
  });
});

describe('experiment plan and subsets', () => {
  it('plans the full pool once per seed and every strategy × ratio × regime at every seed', () => {
    const options = resolveExperimentOptions({
      inputs: ['x'],
      out: 'y',
      strategies: ['lowest-first'],
      pruneRatios: [0.5, 0.1],
      seeds: 2,
    });
    expect(options.strategies).toEqual(['lowest-first', 'random']);
    const runs = planRuns(options);
    expect(runs).toHaveLength(2 * (1 + 2 * 2 * 2));
    expect(new Set(runs.map((r) => r.key)).size).toBe(runs.length);
    expect(runs.filter((r) => r.strategy === 'full').map((r) => r.seed)).toEqual([1, 2]);
    expect(runs[1]).toMatchObject({ strategy: 'lowest-first', ratio: 0.1, regime: 'equal-compute', seed: 1 });
    expect(tokensFor({ regime: 'equal-compute' }, 1000, 0.3)).toBe(1000);
    expect(tokensFor({ regime: 'equal-epochs' }, 1000, 0.3)).toBe(300);
    expect(() => resolveExperimentOptions({ inputs: ['x'], out: 'y', pruneRatios: [1] })).toThrow(/pruneRatios/);
    expect(() => resolveExperimentOptions({ inputs: ['x'], out: 'y', strategies: ['best' as never] })).toThrow(
      /strategies\[0\]/,
    );
    expect(() => resolveExperimentOptions({ inputs: ['x'], out: 'y', pruneBy: 'bytes' as never })).toThrow(/pruneBy/);
  });

  it('refuses to continue a folder in the other prune unit (tokens is the default)', () => {
    const out = mkdtempSync(join(tmpdir(), 'infoprune-experiment-key-'));
    try {
      const key = (pruneBy?: PruneUnit) => experimentKey(resolveExperimentOptions({ inputs: ['x'], out, pruneBy }));
      expect(key()).toEqual(key('tokens'));
      prepareFolder(experimentFiles(out), key(), false);
      prepareFolder(experimentFiles(out), key('tokens'), false);
      expect(() => prepareFolder(experimentFiles(out), key('documents'), false)).toThrow(
        expect.objectContaining({ code: 'RESUME_MISMATCH' }),
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  // 100 documents whose probe score rises with their index; every tenth one is a repetitive text.
  const pool: PoolDocument[] = Array.from({ length: 100 }, (_, i) => ({
    id: `pool-${i}`,
    source: 'pool',
    line: i,
    text:
      i % 10 === 0 ? 'the the the the the the the the the the the the' : `document ${i} about topic ${i * 7919} here`,
  }));
  const scores: PoolScores[] = pool.map((_, i) => ({
    tokens: 10,
    nll: (1 + i / 10) * 10 * Math.LN2,
    bytes: 40,
    bitsPerToken: 1 + i / 10,
    bitsPerByte: (1 + i / 10) / 4,
  }));
  const words = poolWordFrequencies(pool);
  const cut = (strategy: ExperimentStrategyName, tokens: number[], pruneBy: PruneUnit, seed = 1) =>
    subsetFor(pool, scores, tokens, { strategy, pruneRatio: 0.3, pruneBy, seed }, words);
  // Ten tokens each: a document budget and a token budget cut the same subsets.
  const even = pool.map(() => 10);
  const keep = (strategy: ExperimentStrategyName, seed = 1) => cut(strategy, even, 'documents', seed).kept;

  it('cuts the subsets the strategies say', () => {
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    expect(keep('lowest-first')).toEqual(range(30, 100));
    expect(keep('highest-first')).toEqual(range(0, 70));
    expect(keep('middle')).toEqual(range(15, 85));
    expect(keep('random', 1)).toHaveLength(70);
    expect(keep('random', 1)).not.toEqual(keep('random', 2));
    expect(keep('random', 1)).toEqual(keep('random', 1));
    // zlib-ratio prunes the repetitive texts first (the most compressible).
    const zlib = keep('zlib-ratio');
    expect(zlib).toHaveLength(70);
    for (let i = 0; i < 100; i += 10) expect(zlib).not.toContain(i);
    // combined adds H(W,f): the repeated word "the" is frequent, so the repetitive texts go first here too.
    const combined = keep('combined');
    expect(combined).toHaveLength(70);
    expect(combined).not.toEqual(keep('lowest-first'));
    expect(combined).not.toContain(0);
    expect(cut('random', even, 'documents').keptTokenShare).toBeCloseTo(0.7, 12);
    for (const strategy of EXPERIMENT_STRATEGY_NAMES) {
      expect(cut(strategy, even, 'tokens').kept, strategy).toEqual(keep(strategy));
    }
  });

  it('keeps the same tokens for every strategy under a token budget, and not under a document budget', () => {
    // The more informative half is much longer: a document budget keeps far more text lowest-first.
    const tokens = pool.map((_, i) => 3 + (i % 7) * 4 + (i >= 50 ? 30 : 0));
    const total = tokens.reduce((sum, count) => sum + count, 0);
    const budget = total - Math.round(total * 0.3);
    const longest = Math.max(...tokens);
    const kept = new Map<string, number>();
    for (const strategy of EXPERIMENT_STRATEGY_NAMES) {
      for (const seed of strategy === 'random' ? [1, 2, 3] : [1]) {
        const subset = cut(strategy, tokens, 'tokens', seed);
        const held = subset.kept.reduce((sum, i) => sum + tokens[i], 0);
        expect(subset.keptTokens, strategy).toBe(held);
        expect(subset.keptTokenShare).toBeCloseTo(held / total, 12);
        // select()'s boundary: the document that crosses the budget is kept (middle: one at each end of its band).
        expect(held, strategy).toBeGreaterThanOrEqual(budget);
        expect(held - budget, strategy).toBeLessThan(strategy === 'middle' ? 2 * longest : longest);
        kept.set(`${strategy}-${seed}`, held);
      }
    }
    const spreadOfKept = Math.max(...kept.values()) - Math.min(...kept.values());
    expect(spreadOfKept).toBeLessThan(2 * longest);
    // By documents, lowest-first keeps the long half and highest-first the short one.
    const byDocuments = (strategy: ExperimentStrategyName) => cut(strategy, tokens, 'documents').keptTokens;
    expect(byDocuments('lowest-first') - byDocuments('highest-first')).toBeGreaterThan(10 * longest);
    expect(cut('lowest-first', tokens, 'tokens').kept.length).toBeLessThan(
      cut('highest-first', tokens, 'tokens').kept.length,
    );
  });
});

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => typeof path === 'string' && existsSync(path),
);

describe.skipIf(CHROMIUM === undefined)(
  `experiment report.html in headless Chromium${CHROMIUM === undefined ? ' — SKIPPED: no chromium binary' : ''}`,
  () => {
    let browser: Browser;
    let folder: string;
    const runs = syntheticRuns({ random: 0, 'lowest-first': -0.02, middle: 0 }, 3).flatMap((run) =>
      run.strategy === 'full'
        ? [run]
        : [
            run,
            {
              ...run,
              key: `${run.key}-e`,
              regime: 'equal-epochs',
              heldout_bits_per_byte: run.heldout_bits_per_byte + 0.05,
            },
          ],
    );
    const results: ResultsFile = {
      version: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      infoprune: 'test',
      setup: {
        pool: { documents: 100, tokens: 5000 },
        heldout: { documents: 10, tokens: 500 },
        targets: { budgetTokens: 1000, vocabularySize: 512, shape: { layers: 1, embedding: 64 } },
        strategies: ['lowest-first', 'middle', 'random'],
        regimes: ['equal-compute', 'equal-epochs'],
        seeds: [1, 2, 3],
      },
      runs,
      analysis: analyse(runs),
    };

    beforeAll(async () => {
      folder = mkdtempSync(join(tmpdir(), 'infoprune-experiment-report-'));
      writeFileSync(join(folder, 'report.html'), renderExperimentReport(results));
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu'],
      });
    });

    afterAll(async () => {
      await browser?.close();
      rmSync(folder, { recursive: true, force: true });
    });

    it('shows a plot per regime with every seed, the tables and the verdicts, and loads nothing else', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      const url = pathToFileURL(join(folder, 'report.html')).href;
      await page.goto(url);
      expect(requests).toEqual([url]);
      await expect(page.locator('svg.experiment').count()).resolves.toBe(2);
      const box = await page.locator('svg.experiment').first().boundingBox();
      expect(box!.width).toBeGreaterThan(600);
      expect(box!.height).toBeGreaterThan(150);
      // Each regime's plot: its own runs and the full pool's, one dot per seed, inside the plot.
      const dots = await page
        .locator('svg.experiment[data-regime="equal-compute"] circle.seed')
        .evaluateAll((circles) =>
          circles.map((c) => {
            const r = c.getBoundingClientRect();
            return { strategy: c.getAttribute('data-strategy'), width: r.width };
          }),
        );
      expect(dots).toHaveLength(3 * 4);
      expect(dots.every((dot) => dot.width > 2)).toBe(true);
      await expect(page.locator('svg.experiment path.mean').count()).resolves.toBe(2 * 3);
      await expect(page.locator('table.summary tbody tr').count()).resolves.toBe(results.analysis.summaries.length);
      await expect(page.locator('table.comparisons tbody tr').count()).resolves.toBe(
        results.analysis.comparisons.length,
      );
      const verdicts = await page.locator('ul.verdicts li').allTextContents();
      expect(verdicts).toEqual(results.analysis.verdicts.map((v) => v.verdict));
      expect(verdicts[0]).toMatch(/lowest-first beats random/);
      await page.close();
    });
  },
);
