import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PruneResult, pruneCorpus } from '../src/select/prune.js';
import { escapeHtml, formatValue, niceTicks, renderReport } from '../src/select/report.js';
import { type CraftedDocument, tempFolder, writeCorpus } from './fixtures/select/helpers.js';

/** A corpus of 600 documents with a bell-shaped bits-per-token distribution, a few awkward texts among them. */
function syntheticCorpus(): CraftedDocument[] {
  let state = 42;
  const uniform = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
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
  return Array.from({ length: 600 }, (_, i) => {
    const bpt = Math.max(0.2, 4 + (uniform() + uniform() + uniform() + uniform() - 2) * 2.2);
    const length = 5 + Math.floor(uniform() * 40);
    let text = Array.from({ length }, () => words[Math.floor(uniform() * words.length)]).join(' ');
    if (i === 7) text = '<b>bold?</b> "quoted" & \'single\' — <img src=x onerror=alert(1)>';
    if (i === 8) text = 'line one\n\n\tline two    with    spaces';
    return {
      file: i < 300 ? 'part-1.jsonl' : 'part-2.jsonl',
      line: (i % 300) + 1,
      text,
      bitsPerToken: Number(bpt.toFixed(3)),
      tokens: length * 2,
    };
  });
}

describe('report.html', () => {
  let result: PruneResult;
  let html: string;

  beforeAll(async () => {
    const corpus = writeCorpus(syntheticCorpus());
    result = await pruneCorpus({
      inputs: Object.values(corpus.files),
      scores: corpus.scores,
      out: join(corpus.folder, 'out'),
      pruneRatio: 0.3,
    });
    html = readFileSync(join(result.out, 'report.html'), 'utf8');
  });

  it('is self-contained: no script, no external asset, no link', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:/i);
    expect(html).not.toMatch(/url\(/i);
  });

  it('escapes document text', () => {
    expect(html).not.toContain('<img src=x');
    expect(escapeHtml('<a href="x">\'&\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('draws a bar per non-empty histogram part and the cut line', () => {
    const bars = html.match(/<rect class="bar (kept|pruned)"/g) ?? [];
    expect(bars.length).toBeGreaterThan(20);
    expect(html).toMatch(/<line class="cut"/);
    expect(html).toContain(`cut ${formatValue(result.summary.cuts.lower!.value)}`);
  });

  it('shows the kept shares and the ten least and most informative documents', () => {
    expect(html).toContain('Ten least informative documents');
    expect(html).toContain('Ten most informative documents');
    const extremes = html.slice(html.indexOf('Ten least informative'), html.indexOf('<h2>Selection</h2>'));
    expect((extremes.match(/<span class="badge (kept|pruned)">/g) ?? []).length).toBe(20);
    expect(html).toContain('aria-label="Documents: 70% of 600 documents kept"');
    expect(html).toMatch(/<b>70%<\/b> · 420 of 600/);
  });

  it('names the model and the metric, draws the token curve and its quantile table', () => {
    expect(html).toContain('<h2>Model and metric</h2>');
    expect(html).toContain('bits-per-token (bits/token): higher is more informative');
    expect(html).toContain('unknown (no manifest beside the scores)');
    expect(html).toMatch(/<svg class="curve"[^>]*>/);
    expect(html).toMatch(/<path class="curve-tokens" d="M[\d.]+,[\d.]+( L[\d.]+,[\d.]+){100,}"/);
    expect(html).toMatch(/<circle class="cut-dot"/);
    const table = html.slice(html.indexOf('<summary>Quantile table</summary>'), html.indexOf('</details>'));
    expect((table.match(/<tr/g) ?? []).length).toBe(21); // the header and 0 %, 5 %, … 95 %
    expect(table).toMatch(/<tr class="chosen">\s*<td class="num">30%<\/td>/); // the selection's own cut
    const q30 = result.summary.quantiles.find((row) => row.percent === 30)!;
    expect(q30.value).toBe(result.summary.cuts.lower!.value); // pruning 30 % cuts exactly where prune did
    expect(q30.keptDocuments).toBe(result.summary.counts.kept);
    expect(q30.keptTokens).toBe(result.summary.tokens!.after);
    expect(result.summary.quantiles[0]).toMatchObject({
      percent: 0,
      value: result.summary.values!.min,
      keptDocuments: 600,
    });
    const points = result.summary.curve.points;
    expect(points[0]).toMatchObject({ documents: 600, tokens: result.summary.tokens!.before });
    for (let i = 1; i < points.length; i++) expect(points[i].tokens).toBeLessThanOrEqual(points[i - 1].tokens);
  });

  it('lists the documents either side of the cut, the groups and the length buckets', () => {
    const near = html.slice(html.indexOf('id="near-cuts"'), html.indexOf('id="groups"'));
    expect(near).toContain('<tr class="cut-row"><td colspan="6">lower cut at');
    const before = near.slice(0, near.indexOf('cut-row'));
    const after = near.slice(near.indexOf('cut-row'));
    expect((before.match(/badge pruned/g) ?? []).length).toBe(5);
    expect((after.match(/badge kept/g) ?? []).length).toBe(5);
    const groups = html.slice(html.indexOf('id="groups"'), html.indexOf('id="lengths"'));
    expect(groups).toContain('Kept share by source file');
    expect((groups.match(/<td class="where"/g) ?? []).length).toBe(2); // part-1.jsonl and part-2.jsonl
    const shares = result.summary.groups;
    expect(shares.map((g) => g.documents)).toEqual([300, 300]);
    expect(shares[0].kept + shares[1].kept).toBe(result.summary.counts.kept);
    const lengths = result.summary.lengthBias;
    expect(lengths.unit).toBe('tokens');
    expect(lengths.buckets.reduce((sum, b) => sum + b.documents, 0)).toBe(600);
    expect(lengths.buckets.reduce((sum, b) => sum + b.kept, 0)).toBe(result.summary.counts.kept);
    expect(html).toContain('Kept share by document length');
  });

  it('renders without a histogram or samples', () => {
    const page = renderReport({ summary: result.summary, histogram: null, leastInformative: [], mostInformative: [] });
    expect(page).toContain('No documents to draw.');
  });

  it('formats numbers and ticks sensibly', () => {
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: a decimal literal, not π
    expect(formatValue(3.14159)).toBe('3.142');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(1234567)).toBe('1.235e+6');
    expect(niceTicks(0, 97, 5)).toEqual([0, 20, 40, 60, 80, 100].filter((t) => t <= 97));
    expect(niceTicks(1.2, 6.1, 8)).toEqual([2, 3, 4, 5, 6]);
    expect(niceTicks(0.31, 0.58, 6)).toEqual([0.35, 0.4, 0.45, 0.5, 0.55]);
  });
});

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => typeof path === 'string' && existsSync(path),
);

describe.skipIf(CHROMIUM === undefined)(
  `report.html in headless Chromium${CHROMIUM === undefined ? ' — SKIPPED: no chromium binary (/usr/bin/chromium); apt-get install chromium' : ''}`,
  () => {
    let browser: Browser;
    let reportPath: string;

    beforeAll(async () => {
      const corpus = writeCorpus(syntheticCorpus());
      const { out } = await pruneCorpus({
        inputs: Object.values(corpus.files),
        scores: corpus.scores,
        out: join(corpus.folder, 'out'),
        keepRatio: 0.6,
      });
      reportPath = join(out, 'report.html');
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          '--disable-sync',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it('opens, shows the histogram with bars and a cut, and a screenshot is not blank', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(reportPath).href);
      // Only the page itself was loaded: nothing external.
      expect(requests).toEqual([pathToFileURL(reportPath).href]);

      const histogram = page.locator('svg.histogram');
      await expect(histogram.count()).resolves.toBe(1);
      const box = await histogram.boundingBox();
      expect(box!.width).toBeGreaterThan(600);
      expect(box!.height).toBeGreaterThan(150);
      const bars = await page.locator('svg.histogram rect.bar').evaluateAll((rects) =>
        rects.map((rect) => {
          const r = rect.getBoundingClientRect();
          return { width: r.width, height: r.height, fill: getComputedStyle(rect).fill };
        }),
      );
      expect(bars.length).toBeGreaterThan(20);
      expect(bars.filter((bar) => bar.height > 1 && bar.width > 1).length).toBeGreaterThan(20);
      expect(new Set(bars.map((bar) => bar.fill)).size).toBe(2); // kept and pruned colours
      await expect(page.locator('svg.histogram line.cut').count()).resolves.toBe(1);
      await expect(page.locator('section.samples:not(#near-cuts) table tbody tr').count()).resolves.toBe(20);
      expect(await page.locator('img').count()).toBe(0); // the escaped <img> stays text

      // The token curve: a long falling line across the plot, the cut's dot on it.
      const curve = await page.locator('svg.curve path.curve-tokens').boundingBox();
      expect(curve!.width).toBeGreaterThan(500);
      expect(curve!.height).toBeGreaterThan(100);
      await expect(page.locator('svg.curve circle.cut-dot').count()).resolves.toBe(1);
      await expect(page.locator('details.quantiles tbody tr').count()).resolves.toBe(20);
      await expect(page.locator('details.quantiles tr.chosen').count()).resolves.toBe(1);
      // Either side of the cut: 5 pruned rows, the cut, 5 kept rows, laid out with visible height.
      const nearRows = await page
        .locator('#near-cuts tbody tr')
        .evaluateAll((rows) =>
          rows.map((row) => ({ text: row.textContent ?? '', height: row.getBoundingClientRect().height })),
        );
      expect(
        nearRows.map((row) => (/pruned/.test(row.text) ? 'p' : /kept/.test(row.text) ? 'k' : 'cut')).join(''),
      ).toBe('pppppcutkkkkk');
      expect(nearRows.every((row) => row.height > 10)).toBe(true);
      // Group and length bars: each drawn as wide as its kept share.
      const shareBars = await page.locator('#groups .mini-track, #lengths .mini-track').evaluateAll((tracks) =>
        tracks.map((track) => {
          const inner = track.firstElementChild!.getBoundingClientRect().width;
          return { share: inner / track.getBoundingClientRect().width, text: track.closest('tr')!.textContent ?? '' };
        }),
      );
      expect(shareBars.length).toBeGreaterThanOrEqual(3);
      for (const bar of shareBars) expect(bar.share).toBeGreaterThanOrEqual(0);
      expect(shareBars.some((bar) => bar.share > 0.2 && bar.share < 0.95)).toBe(true);
      await expect(page.locator('#measured dd').first().textContent()).resolves.toContain('unknown');

      const shot = await histogram.screenshot();
      const full = await page.screenshot({ fullPage: true });
      writeFileSync(join(tempFolder(), 'report.png'), full);
      // Decode the PNG in the browser and count distinct colours and non-white pixels.
      const stats = await page.evaluate(async (base64) => {
        const image = new Image();
        image.src = `data:image/png;base64,${base64}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext('2d')!;
        context.drawImage(image, 0, 0);
        const data = context.getImageData(0, 0, image.width, image.height).data;
        const colours = new Set<number>();
        let nonWhite = 0;
        for (let i = 0; i < data.length; i += 4) {
          colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
          if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) nonWhite++;
        }
        return {
          colours: colours.size,
          nonWhiteShare: nonWhite / (data.length / 4),
          width: image.width,
          height: image.height,
        };
      }, shot.toString('base64'));
      expect(stats.width).toBeGreaterThan(600);
      expect(stats.colours).toBeGreaterThan(20);
      expect(stats.nonWhiteShare).toBeGreaterThan(0.05);
      await page.close();
    });
  },
);
