/**
 * `report.html`: one self-contained page (inline CSS and SVG, no script, no external asset) that shows what a
 * selection did: the metric's histogram split into kept and pruned documents with the cut line(s), the kept and
 * pruned shares of documents, tokens and bytes, and the ten least and ten most informative documents with snippets.
 * Every string that comes from the data (text, ids, paths) is HTML-escaped.
 */
import { basename } from 'node:path';
import { formatCount } from '../util/format.js';
import type { HistogramBin, Sample, SelectionSummary } from './summary.js';

export interface ReportData {
  summary: SelectionSummary;
  histogram: { min: number; max: number; bins: HistogramBin[] } | null;
  leastInformative: Sample[];
  mostInformative: Sample[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A value with four significant digits, without exponent for everyday magnitudes. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const magnitude = Math.abs(v);
  if (magnitude >= 1e6 || magnitude < 1e-3) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

function percent(part: number, whole: number): string {
  if (whole === 0) return '–';
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** Round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, count: number): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function budgetPhrase(summary: SelectionSummary): string {
  const budget = summary.configuration.budget;
  switch (budget.kind) {
    case 'keep-ratio':
      return `keep ratio ${budget.keepRatio}`;
    case 'prune-ratio':
      return `prune ratio ${budget.pruneRatio}`;
    case 'keep-tokens':
      return `keep ${formatCount(budget.keepTokens)} tokens`;
    case 'threshold':
      return `keep ${budget.min === null ? '' : `${formatValue(budget.min)} ≤ `}value${budget.max === null ? '' : ` ≤ ${formatValue(budget.max)}`}`;
  }
}

function shareBar(label: string, kept: number, total: number, unit: string): string {
  const keptShare = total > 0 ? (100 * kept) / total : 0;
  return `<div class="share">
  <div class="share-head"><span class="share-label">${escapeHtml(label)}</span><span class="share-numbers"><b>${percent(kept, total)}</b> · ${formatCount(kept)} of ${formatCount(total)}</span></div>
  <div class="share-track" role="img" aria-label="${escapeHtml(`${label}: ${percent(kept, total)} of ${formatCount(total)} ${unit} kept`)}"><div class="share-kept" style="width:${keptShare.toFixed(3)}%"></div></div>
  <div class="share-foot"><span class="dot kept"></span>kept ${formatCount(kept)} <span class="dot pruned"></span>pruned ${formatCount(total - kept)} (${percent(total - kept, total)})</div>
</div>`;
}

const W = 960;
const H = 340;
const M = { left: 64, right: 24, top: 36, bottom: 56 };

function histogramSvg(data: ReportData): string {
  const histogram = data.histogram;
  const summary = data.summary;
  if (histogram === null || histogram.bins.length === 0) return '<p class="empty">No documents to draw.</p>';
  const bins = histogram.bins;
  const x0 = bins[0].from;
  const x1 = bins[bins.length - 1].to;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const maxCount = Math.max(1, ...bins.map((b) => b.kept + b.pruned));
  const yTicks = niceTicks(0, maxCount, 5);
  const yTop = Math.max(maxCount, yTicks[yTicks.length - 1]);
  const sx = (v: number): number => M.left + ((v - x0) / (x1 - x0)) * plotW;
  const sy = (c: number): number => M.top + plotH - (c / yTop) * plotH;
  const unit = summary.metric.unit;
  const parts: string[] = [];
  parts.push(
    `<svg class="histogram" viewBox="0 0 ${W} ${H}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg" aria-label="${escapeHtml(`Histogram of ${summary.metric.name}, kept and pruned documents`)}">`,
  );
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/><text class="tick" x="${M.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatCount(t)}</text>`,
    );
  }
  for (const bin of bins) {
    const left = sx(bin.from) + 0.5;
    const width = Math.max(0.5, sx(bin.to) - sx(bin.from) - 1);
    const tip = escapeHtml(
      `${formatValue(bin.from)} – ${formatValue(bin.to)} ${unit}: ${formatCount(bin.kept)} kept, ${formatCount(bin.pruned)} pruned`,
    );
    if (bin.kept > 0) {
      parts.push(
        `<rect class="bar kept" x="${left.toFixed(2)}" y="${sy(bin.kept).toFixed(2)}" width="${width.toFixed(2)}" height="${(sy(0) - sy(bin.kept)).toFixed(2)}"><title>${tip}</title></rect>`,
      );
    }
    if (bin.pruned > 0) {
      const top = sy(bin.kept + bin.pruned);
      parts.push(
        `<rect class="bar pruned" x="${left.toFixed(2)}" y="${top.toFixed(2)}" width="${width.toFixed(2)}" height="${(sy(bin.kept) - top).toFixed(2)}"><title>${tip}</title></rect>`,
      );
    }
  }
  parts.push(`<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${sy(0)}" y2="${sy(0)}"/>`);
  for (const t of niceTicks(x0, x1, 8)) {
    if (t < x0 || t > x1) continue;
    const x = sx(t).toFixed(1);
    parts.push(
      `<line class="axis" x1="${x}" x2="${x}" y1="${sy(0)}" y2="${sy(0) + 5}"/><text class="tick" x="${x}" y="${sy(0) + 18}" text-anchor="middle">${formatValue(t)}</text>`,
    );
  }
  const direction =
    summary.metric.moreInformative === 'higher'
      ? '← less informative · more informative →'
      : '← more informative · less informative →';
  parts.push(
    `<text class="axis-label" x="${M.left + plotW / 2}" y="${H - 10}" text-anchor="middle">${escapeHtml(`${summary.metric.name} (${unit})   ${direction}`)}</text>`,
  );
  parts.push(
    `<text class="axis-label" x="14" y="${M.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${M.top + plotH / 2})">documents</text>`,
  );
  if (summary.cuts.order === 'information') {
    const lines = [
      { point: summary.cuts.lower, name: summary.configuration.strategy === 'threshold' ? 'min' : 'cut' },
      { point: summary.cuts.upper, name: summary.configuration.strategy === 'threshold' ? 'max' : 'cut' },
    ];
    for (const { point, name } of lines) {
      if (point === null || point.value < x0 || point.value > x1) continue;
      const x = sx(point.value).toFixed(1);
      const anchor = sx(point.value) > M.left + plotW * 0.8 ? 'end' : 'start';
      const dx = anchor === 'end' ? -6 : 6;
      parts.push(
        `<line class="cut" x1="${x}" x2="${x}" y1="${M.top - 8}" y2="${sy(0)}"/><text class="cut-label" x="${Number(x) + dx}" y="${M.top - 12}" text-anchor="${anchor}">${escapeHtml(`${name} ${formatValue(point.value)}`)}</text>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function samplesTable(title: string, note: string, samples: Sample[], unit: string): string {
  if (samples.length === 0) return '';
  const rows = samples
    .map((s, i) => {
      const where = `${basename(s.source)}:${s.line}`;
      // Positional ids (`<source>:<line>`) repeat the location: show an id only when it says something else.
      const id = s.id === `${s.source}:${s.line}` ? '' : `<br><span class="id">${escapeHtml(s.id)}</span>`;
      return `<tr>
  <td class="num">${i + 1}</td>
  <td class="num value">${escapeHtml(formatValue(s.value))}</td>
  <td><span class="badge ${s.kept ? 'kept' : 'pruned'}">${s.kept ? 'kept' : 'pruned'}</span></td>
  <td class="num">${s.tokens === null ? '–' : formatCount(s.tokens)}</td>
  <td class="where" title="${escapeHtml(`${s.source}:${s.line} · id ${s.id}`)}">${escapeHtml(where)}${id}</td>
  <td class="snippet">${s.snippet === '' ? '<span class="muted">(empty)</span>' : escapeHtml(s.snippet)}</td>
</tr>`;
    })
    .join('\n');
  return `<section class="samples">
<h2>${escapeHtml(title)}</h2>
<p class="muted">${escapeHtml(note)}</p>
<table>
<thead><tr><th>#</th><th>${escapeHtml(unit)}</th><th></th><th>tokens</th><th>document</th><th>text</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

const STYLE = `
:root { --kept: #2563eb; --pruned: #cbd2dc; --cut: #dc2626; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 48px; }
header h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
header .sub { color: var(--muted); margin: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-top: 18px; }
.headline { display: flex; flex-wrap: wrap; gap: 28px; align-items: baseline; }
.headline .big { font-size: 34px; font-weight: 650; color: var(--kept); }
.headline .label { color: var(--muted); }
.shares { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 18px; margin-top: 14px; }
.share-head { display: flex; justify-content: space-between; gap: 8px; font-size: 14px; }
.share-label { font-weight: 600; }
.share-numbers { color: var(--muted); }
.share-numbers b { color: var(--ink); }
.share-track { height: 12px; background: var(--pruned); border-radius: 6px; overflow: hidden; margin: 6px 0 4px; }
.share-kept { height: 100%; background: var(--kept); }
.share-foot { font-size: 12px; color: var(--muted); }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin: 0 4px 0 8px; vertical-align: baseline; }
.dot:first-child { margin-left: 0; }
.dot.kept { background: var(--kept); } .dot.pruned { background: var(--pruned); }
h2 { font-size: 17px; margin: 0 0 6px; }
.legend { font-size: 13px; color: var(--muted); margin: 0 0 6px; }
.legend .cutkey { display: inline-block; width: 16px; border-top: 2px dashed var(--cut); vertical-align: middle; margin: 0 4px 0 10px; }
svg.histogram { display: block; font-size: 12px; }
svg .bar.kept { fill: var(--kept); } svg .bar.pruned { fill: var(--pruned); }
svg .grid { stroke: #eef0f3; } svg .axis { stroke: #9ca3af; }
svg .tick { fill: var(--muted); } svg .axis-label { fill: var(--ink); font-size: 13px; }
svg .cut { stroke: var(--cut); stroke-width: 2; stroke-dasharray: 6 4; } svg .cut-label { fill: var(--cut); font-weight: 600; }
.formula { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; border-radius: 6px; padding: 8px 10px; margin: 8px 0; overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 0; font-size: 14px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 7px 8px; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.value { font-weight: 600; }
td.where { white-space: nowrap; max-width: 190px; overflow: hidden; text-overflow: ellipsis; }
td.where .id { color: var(--muted); font-size: 12px; }
td.snippet { color: #374151; overflow-wrap: anywhere; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 8px; font-size: 12px; font-weight: 600; }
.badge.kept { background: #dbeafe; color: #1d4ed8; } .badge.pruned { background: #eef0f3; color: #4b5563; }
.muted { color: var(--muted); }
.warnings { border-color: #fcd34d; background: #fffbeb; }
details summary { cursor: pointer; color: var(--muted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
footer { color: var(--muted); font-size: 12px; margin-top: 22px; }
`;

/** The report page for a selection. */
export function renderReport(data: ReportData): string {
  const s = data.summary;
  const unit = s.metric.unit;
  const leastNote =
    s.metric.moreInformative === 'higher'
      ? `lowest ${s.metric.name}: what lowest-first prunes first`
      : `highest ${s.metric.name}: what lowest-first prunes first`;
  const mostNote =
    s.metric.moreInformative === 'higher'
      ? `highest ${s.metric.name}: what lowest-first keeps longest`
      : `lowest ${s.metric.name}: what lowest-first keeps longest`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`infoprune report · ${s.metric.name} · ${s.configuration.strategy}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>Pruning report</h1>
<p class="sub">${escapeHtml(`${s.metric.name} · ${s.configuration.strategy} · ${budgetPhrase(s)}${s.configuration.dryRun ? ' · dry run (nothing written but this report and selection.json)' : ''}`)}</p>
</header>

${headlineSection(s)}
${warningsSection(s)}
<section class="card">
<h2>Distribution of ${escapeHtml(s.metric.name)}</h2>
<p class="legend"><span class="dot kept"></span>kept <span class="dot pruned"></span>pruned${s.cuts.order === 'information' && (s.cuts.lower !== null || s.cuts.upper !== null) ? '<span class="cutkey"></span>cut' : ''} · ${escapeHtml(cutsText(s))}</p>
${histogramSvg(data)}
<div class="formula">${escapeHtml(s.metric.formula)}</div>
<p class="muted">${escapeHtml(s.metric.description)} Unit: ${escapeHtml(unit)}.</p>
</section>

<section class="card">
${samplesTable('Ten least informative documents', leastNote, data.leastInformative, unit)}
</section>
<section class="card">
${samplesTable('Ten most informative documents', mostNote, data.mostInformative, unit)}
</section>

${selectionSection(s)}
<footer>infoprune ${escapeHtml(s.infopruneVersion)} · ${escapeHtml(s.createdAt)} · Kim &amp; Baek, arXiv 2406.14124</footer>
</main>
</body>
</html>
`;
}

/** The cut values in words, with the boundary documents. */
function cutsText(s: SelectionSummary): string {
  if (s.cuts.order === 'random') return `random order (seed ${s.configuration.seed ?? 0}): no metric cut`;
  const describe = (label: string, point: SelectionSummary['cuts']['lower']): string | null =>
    point === null
      ? null
      : `${label} ${formatValue(point.value)} ${s.metric.unit}${point.source === undefined ? '' : ` (${basename(point.source)}:${point.line}${point.id === undefined || point.id === `${point.source}:${point.line}` ? '' : `, id ${point.id}`})`}`;
  const parts = [describe('lower cut', s.cuts.lower), describe('upper cut', s.cuts.upper)].filter(
    (p): p is string => p !== null,
  );
  return parts.length > 0 ? parts.join(' · ') : 'no cut (everything kept or nothing kept)';
}

function warningsSection(s: SelectionSummary): string {
  if (s.warnings.length === 0) return '';
  return `<section class="card warnings"><h2>Warnings</h2><ul>${s.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>`;
}

/** The kept shares of documents, tokens and bytes. */
function headlineSection(s: SelectionSummary): string {
  const tokenShare = s.tokens === null ? '' : shareBar('Tokens', s.tokens.after, s.tokens.before, 'tokens');
  return `<section class="card">
<div class="headline">
<div><div class="big">${percent(s.counts.kept, s.counts.documents)}</div><div class="label">of documents kept</div></div>
<div><div class="big">${s.tokens === null ? '–' : percent(s.tokens.after, s.tokens.before)}</div><div class="label">of tokens kept</div></div>
<div><div class="big">${formatCount(s.counts.pruned)}</div><div class="label">documents pruned</div></div>
</div>
<div class="shares">
${shareBar('Documents', s.counts.kept, s.counts.documents, 'documents')}
${tokenShare}
${shareBar('Bytes', s.bytes.after, s.bytes.before, 'bytes')}
</div>
</section>`;
}

/** The rule, the counts and the configuration, and selection.json itself. */
function selectionSection(s: SelectionSummary): string {
  const unit = s.metric.unit;
  return `<section class="card">
<h2>Selection</h2>
<dl class="facts">
<dt>Rule</dt><dd>${escapeHtml(s.rule)}</dd>
<dt>Documents</dt><dd>${formatCount(s.counts.documents)} read${s.counts.unreadable > 0 ? `, ${formatCount(s.counts.unreadable)} unreadable (skipped)` : ''}; ${formatCount(s.counts.kept)} kept, ${formatCount(s.counts.pruned)} pruned</dd>
<dt>Values</dt><dd>${s.values === null ? '–' : escapeHtml(`min ${formatValue(s.values.min)} · mean ${formatValue(s.values.mean)} · max ${formatValue(s.values.max)} ${unit}`)}</dd>
<dt>Join</dt><dd>${escapeHtml(s.join)}</dd>
<dt>Scores</dt><dd>${escapeHtml(s.configuration.scores ?? '–')}</dd>
<dt>Inputs</dt><dd>${escapeHtml(s.configuration.inputs.join(', '))}</dd>
</dl>
<details><summary>selection.json</summary><pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre></details>
</section>`;
}
