/**
 * `report.html`: one self-contained page (inline CSS and SVG, no script, no external asset) that shows what a
 * selection did and helps choose the next cut: the kept shares of documents, tokens and bytes; the model and metric;
 * the metric's histogram split into kept and pruned documents with the cut line(s); the tokens kept against the cut
 * value with its quantile table; the documents just either side of the cut; kept shares per group (source or
 * `groupField`) and per document length; the ten least and ten most informative documents with snippets.
 * Every string that comes from the data (text, ids, paths) is HTML-escaped.
 */
import { basename } from 'node:path';
import { formatCount } from '../util/format.js';
import { curveSvg, histogramSvg } from './report-charts.js';
import { escapeHtml, formatValue, percent } from './report-format.js';
import { groupsSection, lengthSection, nearCutsSection, quantileTable, samplesTable } from './report-sections.js';
import { STYLE } from './report-style.js';
import type { HistogramBin, Sample, SelectionSummary } from './summary.js';
import type { NearCut } from './views.js';

export { escapeHtml, formatValue, niceTicks } from './report-format.js';

export interface ReportData {
  summary: SelectionSummary;
  histogram: { min: number; max: number; bins: HistogramBin[] } | null;
  leastInformative: Sample[];
  mostInformative: Sample[];
  /** The documents just either side of each cut (none for random or per-group selections). */
  nearCuts?: NearCut[];
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
    case 'band':
      return `keep percentiles ${budget.low} to ${budget.high}`;
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

/** The report page for a selection. */
export function renderReport(data: ReportData): string {
  const s = data.summary;
  const sections = [
    headlineSection(s),
    warningsSection(s),
    measuredSection(s),
    distributionSection(data),
    curveSection(s),
    nearCutsSection(data.nearCuts ?? [], s.metric.unit),
    groupsSection(s),
    lengthSection(s),
    extremesSections(data),
    selectionSection(s),
  ];
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
<p class="sub">${escapeHtml(`${s.metric.name} · ${s.configuration.strategy} · ${budgetPhrase(s)}${s.configuration.perGroup ? ' per group' : ''}${s.configuration.dryRun ? ' · dry run (nothing written but this report and selection.json)' : ''}`)}</p>
</header>
${sections.filter((section) => section !== '').join('\n')}
<footer>infoprune ${escapeHtml(s.infopruneVersion)} · ${escapeHtml(s.createdAt)} · Kim &amp; Baek, arXiv 2406.14124</footer>
</main>
</body>
</html>
`;
}

/** What was measured: the probe model the scores came from, and the metric with its formula. */
function measuredSection(s: SelectionSummary): string {
  const model = s.model;
  const modelText =
    model === null
      ? 'unknown (no manifest beside the scores)'
      : `${basename(model.path)} · ${model.architecture}, ${formatCount(model.parameterCount, { compact: true })} parameters · context ${model.contextSize}, stride ${model.stride} · sha256 ${model.sha256.slice(0, 12)}…`;
  return `<section class="card" id="measured">
<h2>Model and metric</h2>
<dl class="facts">
<dt>Model</dt><dd title="${escapeHtml(model?.path ?? '')}">${escapeHtml(s.configuration.scores === null ? 'none (a model-free metric)' : modelText)}</dd>
<dt>Metric</dt><dd>${escapeHtml(`${s.metric.name} (${s.metric.unit}): ${s.metric.moreInformative} is more informative`)}</dd>
<dt>Formula</dt><dd><span class="formula-inline">${escapeHtml(s.metric.formula)}</span></dd>
<dt>Strategy</dt><dd>${escapeHtml(`${s.configuration.strategy} · ${budgetPhrase(s)}${s.configuration.perGroup ? ', within each group' : ''}`)}</dd>
</dl>
</section>`;
}

function distributionSection(data: ReportData): string {
  const s = data.summary;
  return `<section class="card">
<h2>Distribution of ${escapeHtml(s.metric.name)}</h2>
<p class="legend"><span class="dot kept"></span>kept <span class="dot pruned"></span>pruned${s.cuts.order === 'information' && (s.cuts.lower !== null || s.cuts.upper !== null) ? '<span class="cutkey"></span>cut' : ''} · ${escapeHtml(cutsText(s))}</p>
${histogramSvg(data.histogram, s)}
<div class="formula">${escapeHtml(s.metric.formula)}</div>
<p class="muted">${escapeHtml(s.metric.description)} Unit: ${escapeHtml(s.metric.unit)}.</p>
</section>`;
}

/** Where to cut: the curve of kept tokens against the cut value, and the quantile table behind it. */
function curveSection(s: SelectionSummary): string {
  const unit = s.curve.unit;
  return `<section class="card" id="curve">
<h2>${escapeHtml(`${unit[0].toUpperCase()}${unit.slice(1)} kept against the cut value`)}</h2>
<p class="legend"><span class="linekey tokens"></span>${escapeHtml(unit)} kept <span class="linekey documents"></span>documents kept · ${escapeHtml(`keeping every document at or above the cut value (in rank order); for ${s.configuration.strategy} the selection's own cut is marked`)}</p>
${curveSvg(s)}
${quantileTable(s)}
</section>`;
}

function extremesSections(data: ReportData): string {
  const s = data.summary;
  const higher = s.metric.moreInformative === 'higher';
  const leastNote = `${higher ? 'lowest' : 'highest'} ${s.metric.name}: what lowest-first prunes first`;
  const mostNote = `${higher ? 'highest' : 'lowest'} ${s.metric.name}: what lowest-first keeps longest`;
  return `<section class="card">
${samplesTable('Ten least informative documents', leastNote, data.leastInformative, s.metric.unit)}
</section>
<section class="card">
${samplesTable('Ten most informative documents', mostNote, data.mostInformative, s.metric.unit)}
</section>`;
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
<dt>Documents</dt><dd>${formatCount(s.counts.documents)} read${s.counts.unreadable > 0 ? `, ${formatCount(s.counts.unreadable)} unreadable (skipped)` : ''}${s.counts.unscored > 0 ? `, ${formatCount(s.counts.unscored)} not scored (skipped by score)` : ''}; ${formatCount(s.counts.kept)} kept, ${formatCount(s.counts.pruned)} pruned</dd>
<dt>Values</dt><dd>${s.values === null ? '–' : escapeHtml(`min ${formatValue(s.values.min)} · mean ${formatValue(s.values.mean)} · max ${formatValue(s.values.max)} ${unit}`)}</dd>
<dt>Join</dt><dd>${escapeHtml(s.join)}</dd>
<dt>Scores</dt><dd>${escapeHtml(s.configuration.scores ?? '–')}</dd>
<dt>Inputs</dt><dd>${escapeHtml(s.configuration.inputs.join(', '))}</dd>
</dl>
<details><summary>selection.json</summary><pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre></details>
</section>`;
}
