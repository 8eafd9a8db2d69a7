/**
 * report.html: one self-contained page (inline style and SVG, nothing fetched). Per regime, a plot of held-out
 * bits/byte against the kept fraction (each seed a dot, the mean a line, the full pool at 1); the one-line verdicts;
 * a table of mean ± sd; and each strategy's paired difference to random with its confidence interval.
 */
import { escapeHtml, formatValue, niceTicks } from '../select/report-format.js';
import { STYLE } from '../select/report-style.js';
import type { Comparison, StrategySummary } from './analysis.js';
import { FULL, type RunResult } from './plan.js';
import type { ResultsFile } from './results.js';

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#6b7280', '#ea580c', '#0891b2', '#be185d'];
const W = 960;
const H = 380;
const M = { left: 70, right: 170, top: 20, bottom: 50 };

const EXTRA_STYLE = `
svg.experiment { display: block; font-size: 12px; }
svg .mean { fill: none; stroke-width: 2; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { text-align: left; }
td.better { color: #15803d; font-weight: 600; } td.worse { color: #b91c1c; font-weight: 600; }
ul.verdicts li { margin: 4px 0; }
`;

function colourOf(strategies: readonly string[], strategy: string): string {
  return strategy === FULL ? '#111827' : COLOURS[strategies.indexOf(strategy) % COLOURS.length];
}

/** Held-out bits/byte against kept fraction for one regime: the full pool's runs belong to every regime. */
export function chartSvg(runs: readonly RunResult[], regime: string, strategies: readonly string[]): string {
  const shown = runs.filter((r) => r.regime === regime || r.strategy === FULL);
  if (shown.length === 0) return '<p class="empty">No finished runs.</p>';
  const xs = shown.map((r) => r.kept_fraction);
  const ys = shown.map((r) => r.heldout_bits_per_byte);
  const [x0, x1] = [Math.min(...xs, 0.4) - 0.02, 1.02];
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.08 || 0.01;
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => M.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const parts = [
    `<svg class="experiment" data-regime="${escapeHtml(regime)}" viewBox="0 0 ${W} ${H}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg" aria-label="${escapeHtml(`held-out bits per byte against kept fraction, ${regime}`)}">`,
  ];
  for (const t of niceTicks(y0, y1, 6)) {
    const y = sy(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/><text class="tick" x="${M.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatValue(t)}</text>`,
    );
  }
  for (const t of niceTicks(x0, 1, 6).filter((t) => t >= x0 && t <= 1)) {
    const x = sx(t).toFixed(1);
    parts.push(
      `<line class="axis" x1="${x}" x2="${x}" y1="${sy(y0)}" y2="${sy(y0) + 5}"/><text class="tick" x="${x}" y="${sy(y0) + 18}" text-anchor="middle">${formatValue(t)}</text>`,
    );
  }
  parts.push(`<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${sy(y0)}" y2="${sy(y0)}"/>`);
  const full = shown.filter((r) => r.strategy === FULL);
  const fullMean = full.length > 0 ? full.reduce((s, r) => s + r.heldout_bits_per_byte, 0) / full.length : undefined;
  [...strategies, FULL].forEach((strategy, i) => {
    const own = shown.filter((r) => r.strategy === strategy);
    if (own.length === 0) return;
    const colour = colourOf(strategies, strategy);
    const means = meansByFraction(own);
    if (strategy !== FULL && fullMean !== undefined) means.push([1, fullMean]);
    means.sort((a, b) => a[0] - b[0]);
    if (means.length > 1) {
      const d = means.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      parts.push(`<path class="mean" data-strategy="${escapeHtml(strategy)}" stroke="${colour}" d="${d}"/>`);
    }
    for (const r of own) {
      parts.push(
        `<circle class="seed" data-strategy="${escapeHtml(strategy)}" cx="${sx(r.kept_fraction).toFixed(1)}" cy="${sy(r.heldout_bits_per_byte).toFixed(1)}" r="3.5" fill="${colour}" fill-opacity="0.7"><title>${escapeHtml(`${strategy}, seed ${r.seed}: ${r.heldout_bits_per_byte.toFixed(4)} bits/byte`)}</title></circle>`,
      );
    }
    const ly = M.top + 10 + i * 20;
    parts.push(
      `<rect x="${W - M.right + 16}" y="${ly - 6}" width="12" height="12" fill="${colour}"/><text class="tick" x="${W - M.right + 34}" y="${ly}" dominant-baseline="middle">${escapeHtml(strategy === FULL ? 'full pool' : strategy)}</text>`,
    );
  });
  parts.push(
    `<text class="axis-label" x="${M.left + plotW / 2}" y="${H - 10}" text-anchor="middle">kept fraction of the pool's tokens</text>`,
    `<text class="axis-label" x="16" y="${M.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${M.top + plotH / 2})">held-out bits/byte (lower is better)</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

/** Mean bits/byte at each prune ratio (its mean kept fraction as x). */
function meansByFraction(runs: readonly RunResult[]): [number, number][] {
  const byRatio = new Map<number, RunResult[]>();
  for (const r of runs) byRatio.set(r.ratio, [...(byRatio.get(r.ratio) ?? []), r]);
  return [...byRatio.values()].map((group) => [
    group.reduce((s, r) => s + r.kept_fraction, 0) / group.length,
    group.reduce((s, r) => s + r.heldout_bits_per_byte, 0) / group.length,
  ]);
}

const pm = (mean: number, sd: number) => `${mean.toFixed(4)} ± ${sd.toFixed(4)}`;

function summaryTable(summaries: readonly StrategySummary[]): string {
  const rows = [...summaries]
    .sort((a, b) => a.regime.localeCompare(b.regime) || a.ratio - b.ratio || a.strategy.localeCompare(b.strategy))
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.strategy)}</td><td>${Math.round(s.ratio * 100)} %</td><td>${escapeHtml(s.regime)}</td><td>${s.keptFraction.toFixed(3)}</td><td>${Math.round(s.keptDocuments)}</td><td>${Math.round(s.tokensTrained)}</td><td>${s.bitsPerByte.n}</td><td>${pm(s.bitsPerByte.mean, s.bitsPerByte.sd)}</td><td>${pm(s.bitsPerToken.mean, s.bitsPerToken.sd)}</td></tr>`,
    );
  return `<table class="summary"><thead><tr><th>strategy</th><th>pruned</th><th>regime</th><th>kept tokens</th><th>kept documents</th><th>tokens trained</th><th>seeds</th><th>bits/byte (mean ± sd)</th><th>bits/token (mean ± sd)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function comparisonTable(comparisons: readonly Comparison[]): string {
  const rows = [...comparisons]
    .sort((a, b) => a.regime.localeCompare(b.regime) || a.ratio - b.ratio || a.strategy.localeCompare(b.strategy))
    .map((c) => {
      const ci =
        c.halfWidth === null
          ? '–'
          : `[${(c.difference.mean - c.halfWidth).toFixed(4)}, ${(c.difference.mean + c.halfWidth).toFixed(4)}]`;
      return `<tr><td>${escapeHtml(c.strategy === FULL ? 'full pool' : c.strategy)}</td><td>${Math.round(c.ratio * 100)} %</td><td>${escapeHtml(c.regime)}</td><td>${c.seeds.length}</td><td>${c.difference.mean >= 0 ? '+' : ''}${c.difference.mean.toFixed(4)}</td><td>${ci}</td><td class="${c.outcome}">${escapeHtml(c.verdict)}</td></tr>`;
    });
  return `<table class="comparisons"><thead><tr><th>strategy</th><th>pruned</th><th>random's regime</th><th>seeds</th><th>− random (bits/byte)</th><th>95 % CI</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderExperimentReport(results: ResultsFile): string {
  const setup = results.setup as {
    pool: { documents: number; tokens: number };
    heldout: { documents: number; tokens: number };
    targets: { budgetTokens: number; vocabularySize: number; shape: Record<string, number> };
    strategies: string[];
    regimes: string[];
    seeds: number[];
  };
  const { analysis, runs } = results;
  const shape = setup.targets.shape;
  const charts = setup.regimes.map(
    (regime) =>
      `<section class="card"><h2>Held-out bits/byte against kept fraction: ${escapeHtml(regime)}</h2><p class="legend">${regime === 'equal-compute' ? `Every target trained ${setup.targets.budgetTokens} tokens (smaller subsets repeated).` : `Each target trained ${setup.targets.budgetTokens} tokens × its kept share (the compute saving).`} Dots: one seed each; lines: the mean; the full pool at 1.</p>${chartSvg(runs, regime, setup.strategies)}</section>`,
  );
  const verdicts = analysis.verdicts.map((v) => `<li>${escapeHtml(v.verdict)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infoprune experiment</title><style>${STYLE}${EXTRA_STYLE}</style></head>
<body><main>
<header><h1>Which pruning helps on this corpus?</h1>
<p class="sub">${escapeHtml(`Targets (${shape.layers} × ${shape.embedding}, vocabulary ${setup.targets.vocabularySize}) trained on each subset of a pool of ${setup.pool.documents} documents (${setup.pool.tokens} tokens) at seeds ${setup.seeds.join(', ')}; evaluated on ${setup.heldout.documents} held-out documents (${setup.heldout.tokens} tokens). infoprune ${results.infoprune}, ${results.createdAt}.`)}</p></header>
<section class="card"><h2>Verdicts</h2><p class="legend">Each strategy minus random at the same seeds, held-out bits/byte; a difference counts only when its 95 % confidence interval excludes zero.</p><ul class="verdicts">${verdicts || '<li>No comparison with random finished yet.</li>'}</ul></section>
${charts.join('\n')}
<section class="card"><h2>Held-out bits per byte and per token</h2>${summaryTable(analysis.summaries)}</section>
<section class="card"><h2>Paired differences to random</h2><p class="legend">The full pool is compared with random at each ratio and regime.</p>${comparisonTable(analysis.comparisons)}</section>
</main></body></html>
`;
}
