/** The report's SVG charts, drawn from the summary's numbers (no script: static SVG the browser lays out). */
import { formatCount } from '../util/format.js';
import { escapeHtml, formatValue, niceTicks } from './report-format.js';
import type { HistogramBin, SelectionSummary } from './summary.js';

const W = 960;
const H = 340;
const M = { left: 64, right: 24, top: 36, bottom: 56 };

export function histogramSvg(
  histogram: { min: number; max: number; bins: HistogramBin[] } | null,
  summary: SelectionSummary,
): string {
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

const CURVE_H = 300;
const CM = { left: 64, right: 24, top: 30, bottom: 52 };

/**
 * Tokens (and documents) kept against the cut value: keeping every document more informative than x keeps y % of
 * the tokens. The selection's cuts are marked on it, with the share they keep.
 */
export function curveSvg(summary: SelectionSummary): string {
  const points = summary.curve.points;
  if (points.length < 2) return '<p class="empty">Too few distinct values to draw a curve.</p>';
  const totalSize = Math.max(points[0].tokens, points.at(-1)!.tokens, 1e-300);
  const totalDocuments = Math.max(points[0].documents, points.at(-1)!.documents, 1);
  const values = points.map((point) => point.value);
  const x0 = Math.min(...values);
  const x1 = Math.max(...values);
  const plotW = W - CM.left - CM.right;
  const plotH = CURVE_H - CM.top - CM.bottom;
  const sx = (v: number): number => CM.left + (x1 > x0 ? ((v - x0) / (x1 - x0)) * plotW : plotW / 2);
  const sy = (share: number): number => CM.top + plotH - (share / 100) * plotH;
  const unit = summary.curve.unit;
  const path = (share: (point: (typeof points)[number]) => number): string =>
    [...points]
      .sort((a, b) => a.value - b.value)
      .map((point, i) => `${i === 0 ? 'M' : 'L'}${sx(point.value).toFixed(1)},${sy(share(point)).toFixed(1)}`)
      .join(' ');
  const parts: string[] = [
    `<svg class="curve" viewBox="0 0 ${W} ${CURVE_H}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg" aria-label="${escapeHtml(`Share of ${unit} kept against the cut value of ${summary.metric.name}`)}">`,
  ];
  for (const t of [0, 25, 50, 75, 100]) {
    const y = sy(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${CM.left}" x2="${W - CM.right}" y1="${y}" y2="${y}"/><text class="tick" x="${CM.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}%</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 8)) {
    if (t < x0 || t > x1) continue;
    const x = sx(t).toFixed(1);
    parts.push(
      `<line class="axis" x1="${x}" x2="${x}" y1="${sy(0)}" y2="${sy(0) + 5}"/><text class="tick" x="${x}" y="${sy(0) + 18}" text-anchor="middle">${formatValue(t)}</text>`,
    );
  }
  parts.push(`<line class="axis" x1="${CM.left}" x2="${W - CM.right}" y1="${sy(0)}" y2="${sy(0)}"/>`);
  parts.push(`<path class="curve-documents" d="${path((point) => (100 * point.documents) / totalDocuments)}"/>`);
  parts.push(`<path class="curve-tokens" d="${path((point) => (100 * point.tokens) / totalSize)}"/>`);
  parts.push(...curveCutMarks(summary, sx, sy, { x0, x1, totalSize }));
  parts.push(
    `<text class="axis-label" x="${CM.left + plotW / 2}" y="${CURVE_H - 10}" text-anchor="middle">${escapeHtml(`cut value: ${summary.metric.name} (${summary.metric.unit}); everything more informative is kept`)}</text>`,
    `<text class="axis-label" x="14" y="${CM.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${CM.top + plotH / 2})">kept</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

/** The selection's cut(s) on the curve: a dashed line and the kept share there, read off the curve. */
function curveCutMarks(
  summary: SelectionSummary,
  sx: (v: number) => number,
  sy: (share: number) => number,
  { x0, x1, totalSize }: { x0: number; x1: number; totalSize: number },
): string[] {
  if (summary.cuts.order !== 'information') return [];
  const marks: string[] = [];
  for (const point of [summary.cuts.lower, summary.cuts.upper]) {
    if (point === null || point.value < x0 || point.value > x1) continue;
    const share = keptShareAt(summary, point.value, totalSize);
    const x = sx(point.value);
    const anchor = x > CM.left + (W - CM.left - CM.right) * 0.7 ? 'end' : 'start';
    marks.push(
      `<line class="cut" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${CM.top - 6}" y2="${sy(0)}"/>`,
      `<circle class="cut-dot" cx="${x.toFixed(1)}" cy="${sy(share).toFixed(1)}" r="4.5"/>`,
      `<text class="cut-label" x="${(x + (anchor === 'end' ? -8 : 8)).toFixed(1)}" y="${(sy(share) - 8).toFixed(1)}" text-anchor="${anchor}">${escapeHtml(`cut ${formatValue(point.value)}: ≈${share.toFixed(1)}% of ${summary.curve.unit} above it`)}</text>`,
    );
  }
  return marks;
}

/** The curve's kept share at a value: the first point at or beyond it in information order. */
function keptShareAt(summary: SelectionSummary, value: number, totalSize: number): number {
  const higher = summary.metric.moreInformative === 'higher';
  const point = summary.curve.points.find((p) => (higher ? p.value >= value : p.value <= value));
  return point === undefined ? 0 : (100 * point.tokens) / totalSize;
}
