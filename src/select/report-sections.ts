/** The report's tables of documents and of kept shares (groups, lengths, quantiles). */
import { basename } from 'node:path';
import { formatCount } from '../util/format.js';
import { escapeHtml, formatValue, percent } from './report-format.js';
import type { Sample, SelectionSummary } from './summary.js';
import type { GroupShare, NearCut } from './views.js';

/** One document as a table row: its value, kept or pruned, tokens, where it is, the start of its text. */
function sampleRow(s: Sample, label: string): string {
  const where = `${basename(s.source)}:${s.line}`;
  // Positional ids (`<source>:<line>`) repeat the location: show an id only when it says something else.
  const id = s.id === `${s.source}:${s.line}` ? '' : `<br><span class="id">${escapeHtml(s.id)}</span>`;
  return `<tr>
  <td class="num">${escapeHtml(label)}</td>
  <td class="num value">${escapeHtml(formatValue(s.value))}</td>
  <td><span class="badge ${s.kept ? 'kept' : 'pruned'}">${s.kept ? 'kept' : 'pruned'}</span></td>
  <td class="num">${s.tokens === null ? '–' : formatCount(s.tokens)}</td>
  <td class="where" title="${escapeHtml(`${s.source}:${s.line} · id ${s.id}`)}">${escapeHtml(where)}${id}</td>
  <td class="snippet">${s.snippet === '' ? '<span class="muted">(empty)</span>' : escapeHtml(s.snippet)}</td>
</tr>`;
}

function samplesHead(unit: string): string {
  return `<thead><tr><th>#</th><th>${escapeHtml(unit)}</th><th></th><th>tokens</th><th>document</th><th>text</th></tr></thead>`;
}

export function samplesTable(title: string, note: string, samples: Sample[], unit: string): string {
  if (samples.length === 0) return '';
  const rows = samples.map((sample, i) => sampleRow(sample, String(i + 1))).join('\n');
  return `<section class="samples">
<h2>${escapeHtml(title)}</h2>
<p class="muted">${escapeHtml(note)}</p>
<table>
${samplesHead(unit)}
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

/** The documents just either side of each cut: what a slightly different cut would add or drop. */
export function nearCutsSection(near: readonly NearCut[], unit: string): string {
  if (near.length === 0) return '';
  const tables = near.map((cut) => {
    const rows = [
      ...cut.before.map((sample, i) => sampleRow(sample, `−${cut.before.length - i}`)),
      `<tr class="cut-row"><td colspan="6">${escapeHtml(`${cut.side === 'lower' ? 'lower' : 'upper'} cut at ${formatValue(cut.value)} ${unit}`)}</td></tr>`,
      ...cut.after.map((sample, i) => sampleRow(sample, `+${i + 1}`)),
    ];
    return `<h3>${escapeHtml(`Around the ${cut.side} cut (${formatValue(cut.value)})`)}</h3>
<table class="near-cut">
${samplesHead(unit)}
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
  });
  return `<section class="card samples" id="near-cuts">
<h2>Documents either side of the cut</h2>
<p class="muted">In rank order (least informative first): the documents a slightly stricter or looser cut would drop or add.</p>
${tables.join('\n')}
</section>`;
}

/** A small bar: the kept share of a row. */
function miniBar(share: number | null): string {
  if (share === null) return '';
  return `<div class="mini-track"><div class="mini-kept" style="width:${(100 * share).toFixed(2)}%"></div></div>`;
}

function shareText(part: number | null, whole: number | null): string {
  if (part === null || whole === null || whole === 0) return '–';
  return percent(part, whole);
}

/** Most groups listed in the report (selection.json lists all). */
const GROUPS_SHOWN = 30;

/** Kept shares per group, and each group's share of the corpus before and after: how pruning moves the mix. */
export function groupsSection(s: SelectionSummary): string {
  const shares = [...s.groups].sort((a, b) => b.documents - a.documents || (a.group < b.group ? -1 : 1));
  if (shares.length === 0) return '';
  const tokensKnown = s.tokens !== null;
  const sizeOf = (share: GroupShare) => (tokensKnown ? share.tokens! : share.documents);
  const keptSizeOf = (share: GroupShare) => (tokensKnown ? share.keptTokens! : share.kept);
  const total = shares.reduce((sum, share) => sum + sizeOf(share), 0);
  const keptTotal = shares.reduce((sum, share) => sum + keptSizeOf(share), 0);
  const perGroup = s.configuration.perGroup;
  const rows = shares.slice(0, GROUPS_SHOWN).map((share) => {
    const cut = share.cuts
      ? `<td class="num">${[share.cuts.lower, share.cuts.upper].map((v) => (v === null ? '–' : formatValue(v))).join(' · ')}</td>`
      : '';
    return `<tr>
  <td class="where" title="${escapeHtml(share.group)}">${escapeHtml(share.group.length > 60 ? `…${share.group.slice(-59)}` : share.group)}</td>
  <td class="num">${formatCount(share.documents)}</td>
  <td class="num">${percent(share.kept, share.documents)}</td>
  <td class="num">${shareText(keptSizeOf(share), sizeOf(share))}</td>
  <td class="bar-cell">${miniBar(sizeOf(share) > 0 ? keptSizeOf(share) / sizeOf(share) : 0)}</td>
  <td class="num">${shareText(sizeOf(share), total)} → ${shareText(keptSizeOf(share), keptTotal)}</td>${cut}
</tr>`;
  });
  const unit = tokensKnown ? 'tokens' : 'documents';
  const by = s.configuration.groupField === null ? 'source file' : `value of ${s.configuration.groupField}`;
  const more =
    shares.length > GROUPS_SHOWN
      ? `<p class="muted">${formatCount(shares.length - GROUPS_SHOWN)} smaller groups are not shown; selection.json lists all ${formatCount(shares.length)}.</p>`
      : '';
  return `<section class="card" id="groups">
<h2>Kept share by ${escapeHtml(by)}</h2>
<p class="muted">${escapeHtml(perGroup ? 'The budget applied within each group: every group keeps its own share.' : 'One cut over the whole corpus: groups keep different shares, and the mix shifts.')} The last column is each group's share of the corpus's ${unit} before and after pruning.</p>
<table class="groups">
<thead><tr><th>group</th><th>documents</th><th>kept</th><th>${unit} kept</th><th></th><th>share of ${unit}: before → after</th>${perGroup ? '<th>cut (lower · upper)</th>' : ''}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
${more}
</section>`;
}

/** Kept shares by document length: whether the metric favours short or long documents. */
export function lengthSection(s: SelectionSummary): string {
  const { unit, buckets } = s.lengthBias;
  if (buckets.length === 0) return '';
  const rows = buckets.map(
    (bucket) => `<tr>
  <td>${bucket.to === null ? `${formatCount(bucket.from)} or more` : `${formatCount(bucket.from)} – ${formatCount(bucket.to - 1)}`}</td>
  <td class="num">${formatCount(bucket.documents)}</td>
  <td class="num">${percent(bucket.kept, bucket.documents)}</td>
  <td class="bar-cell">${miniBar(bucket.kept / bucket.documents)}</td>
  <td class="num">${shareText(bucket.keptSize, bucket.size)}</td>
</tr>`,
  );
  return `<section class="card" id="lengths">
<h2>Kept share by document length</h2>
<p class="muted">${escapeHtml(`Documents by length in ${unit}. Per-token measures keep short and long documents alike only if they are alike; a falling column means the cut favours short documents, a rising one long documents.`)}</p>
<table class="lengths">
<thead><tr><th>length (${escapeHtml(unit)})</th><th>documents</th><th>kept</th><th></th><th>${escapeHtml(unit)} kept</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</section>`;
}

/** The quantile table behind the curve: pruning the least informative p % keeps documents from this value on. */
export function quantileTable(s: SelectionSummary): string {
  if (s.quantiles.length === 0) return '';
  const unit = s.curve.unit;
  const documents = s.counts.documents;
  const size = unit === 'tokens' ? (s.tokens?.before ?? 0) : s.bytes.before;
  const budget = s.configuration.budget;
  const chosen =
    budget.kind === 'prune-ratio'
      ? 100 * budget.pruneRatio
      : budget.kind === 'keep-ratio'
        ? 100 * (1 - budget.keepRatio)
        : budget.kind === 'band'
          ? budget.low
          : null;
  const rows = s.quantiles.map((row) => {
    const mark = chosen !== null && Math.abs(row.percent - chosen) < 1e-9 ? ' class="chosen"' : '';
    return `<tr${mark}>
  <td class="num">${row.percent}%</td>
  <td class="num value">${escapeHtml(formatValue(row.value))}</td>
  <td class="num">${formatCount(row.keptDocuments)} (${percent(row.keptDocuments, documents)})</td>
  <td class="num">${row.keptTokens === null ? '–' : `${formatCount(row.keptTokens)} (${percent(row.keptTokens, size)})`}</td>
</tr>`;
  });
  return `<details class="quantiles" open>
<summary>Quantile table</summary>
<table>
<thead><tr><th>prune the least informative</th><th>cut value (${escapeHtml(s.metric.unit)})</th><th>documents kept</th><th>${escapeHtml(unit)} kept</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</details>`;
}
