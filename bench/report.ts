/**
 * Turns the samples into figures (throughputs, paired ratios, targets), prints the table, and writes the JSON
 * (bench/results/<date>-<host>.json and bench/results/latest.json) plus the same table as Markdown (latest.md).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatBytes, type MachineInfo, median, type Sample } from './measure.js';
import { type TrainBenchReport, trainMarkdown } from './train.js';
import type { WorkloadName } from './workloads.js';

export type RowKind = 'ceiling' | 'engine' | 'e2e' | 'node-llama-cpp' | 'llama-perplexity';

export interface RowResult {
  id: string;
  kind: RowKind;
  workload: WorkloadName;
  label: string;
  /** What the timed part covers. */
  timed: string;
  /** One per round; null where that round's repetition failed. */
  samples: (Sample | null)[];
  error?: string;
}

export interface RowFigures {
  id: string;
  label: string;
  kind: RowKind;
  workload: WorkloadName;
  repetitions: number;
  tokensScored: number;
  tokensEvaluated: number;
  medianSeconds: number;
  scoredPerSecond: number;
  evaluatedPerSecond: number;
  /** min and max of the per-repetition scored (or, for the ceiling, evaluated) tokens/s. */
  spread: [number, number];
  /** evaluated tokens/s over the ceiling's on the same workload, paired by round (median of per-round ratios). */
  vsCeiling: number | null;
  /** scored tokens/s over llama-perplexity's (chunks workload only), paired by round. */
  vsLlamaPerplexity: number | null;
  /** scored tokens/s over node-llama-cpp's (short workload only), paired by round. */
  vsNodeLlamaCpp: number | null;
  /** e2e (and engine variants): scored tokens/s over the engine's on the same workload, paired by round. */
  vsEngine: number | null;
  /** row-specific figures: e2e wall-clock throughput, tool-reported timings. */
  notes: Record<string, unknown>;
  peakRssBytes: number | null;
  error?: string;
}

export interface Target {
  name: string;
  value: number | null;
  threshold: number;
  met: boolean | null;
  /** Why it could not be evaluated, when value is null. */
  reason?: string;
}

export interface ModelReport {
  model: Record<string, unknown>;
  engineOptions: Record<string, unknown>;
  workloads: Record<string, unknown>;
  rows: RowFigures[];
  targets: Target[];
  checks: Record<string, unknown>;
  notes: string[];
}

export interface BenchReport {
  schema: 'infoprune-bench/1';
  date: string;
  command: string;
  quick: boolean;
  repetitions: number;
  threads: number;
  machine: MachineInfo;
  software: Record<string, unknown>;
  method: string[];
  models: ModelReport[];
  /** The probe-training section (bench/train.ts); absent with --no-train. */
  train?: TrainBenchReport | null;
  wallSeconds: number;
}

const perSecond = (tokens: number, seconds: number) => (seconds > 0 ? tokens / seconds : NaN);

/** Throughput of one sample: scored tokens/s, or evaluated tokens/s for rows that score nothing (the ceiling). */
function primaryRate(sample: Sample): number {
  return sample.tokensScored > 0
    ? perSecond(sample.tokensScored, sample.seconds)
    : perSecond(sample.tokensEvaluated, sample.seconds);
}

function pairedRatio(row: RowResult, base: RowResult | undefined, rate: (sample: Sample) => number): number | null {
  if (!base) return null;
  const ratios: number[] = [];
  for (let round = 0; round < row.samples.length; round++) {
    const a = row.samples[round];
    const b = base.samples[round];
    if (a && b) ratios.push(rate(a) / rate(b));
  }
  return ratios.length > 0 ? median(ratios) : null;
}

/** Scored tokens/s of `row` over `base`'s, median of per-round ratios (null when they share no round). */
export function pairedScoredRatio(row: RowResult | undefined, base: RowResult | undefined): number | null {
  return row ? pairedRatio(row, base, (sample) => perSecond(sample.tokensScored, sample.seconds)) : null;
}

export function figures(rows: RowResult[]): RowFigures[] {
  const find = (kind: RowKind, workload: WorkloadName) =>
    rows.find((row) => row.kind === kind && row.workload === workload && row.samples.some(Boolean));
  const evaluatedRate = (sample: Sample) => perSecond(sample.tokensEvaluated, sample.seconds);
  const scoredRate = (sample: Sample) => perSecond(sample.tokensScored, sample.seconds);
  return rows.map((row) => {
    const samples = row.samples.filter((sample): sample is Sample => sample !== null);
    const rates = samples.map(primaryRate);
    const notes: Record<string, unknown> = {};
    if (row.kind === 'e2e') {
      const walls = samples.map((sample) => Number(sample.extra?.wallSeconds));
      notes.wallScoredPerSecond = median(
        samples.map((sample) => perSecond(sample.tokensScored, Number(sample.extra?.wallSeconds))),
      );
      notes.medianWallSeconds = median(walls);
    }
    if (row.kind === 'llama-perplexity') {
      notes.medianWallSeconds = median(samples.map((sample) => Number(sample.extra?.wallSeconds)));
      notes.ppl = samples[0]?.extra?.ppl;
      notes.sequencesPerDecode = samples[0]?.extra?.nSeq;
    }
    const ceiling = row.id === `ceiling:${row.workload}` ? undefined : find('ceiling', row.workload);
    const ppl =
      row.workload === 'chunks' && row.kind !== 'llama-perplexity' && row.kind !== 'ceiling'
        ? find('llama-perplexity', 'chunks')
        : undefined;
    const node =
      row.workload === 'short' && row.kind !== 'node-llama-cpp' && row.kind !== 'ceiling'
        ? find('node-llama-cpp', 'short')
        : undefined;
    const peaks = samples.map((sample) => sample.peakRssBytes).filter((value): value is number => value !== null);
    return {
      id: row.id,
      label: row.label,
      kind: row.kind,
      workload: row.workload,
      repetitions: samples.length,
      tokensScored: samples[0]?.tokensScored ?? 0,
      tokensEvaluated: samples[0]?.tokensEvaluated ?? 0,
      medianSeconds: median(samples.map((sample) => sample.seconds)),
      scoredPerSecond: median(samples.map(scoredRate)),
      evaluatedPerSecond: median(samples.map(evaluatedRate)),
      spread: [Math.min(...rates), Math.max(...rates)],
      vsCeiling: pairedRatio(row, ceiling, evaluatedRate),
      vsLlamaPerplexity: pairedRatio(row, ppl, scoredRate),
      vsNodeLlamaCpp: pairedRatio(row, node, scoredRate),
      vsEngine:
        row.kind === 'e2e' || (row.kind === 'engine' && row.id !== `engine:${row.workload}`)
          ? pairedRatio(
              row,
              rows.find((r) => r.id === `engine:${row.workload}`),
              scoredRate,
            )
          : null,
      notes,
      peakRssBytes: peaks.length > 0 ? Math.max(...peaks) : null,
      error: row.error,
    };
  });
}

export function targets(rows: RowFigures[]): Target[] {
  const get = (id: string) => rows.find((row) => row.id === id && row.repetitions > 0);
  const target = (name: string, threshold: number, value: number | null | undefined, reason: string): Target =>
    value === null || value === undefined || !Number.isFinite(value)
      ? { name, value: null, threshold, met: null, reason }
      : { name, value, threshold, met: value >= threshold };
  const engineShort = get('engine:short');
  const e2e = get('e2e:short');
  return [
    target('engine ≥ 0.90 × ceiling (short documents)', 0.9, engineShort?.vsCeiling, 'engine or ceiling row missing'),
    target(
      'engine ≥ 0.90 × ceiling (fixed chunks)',
      0.9,
      get('engine:chunks')?.vsCeiling,
      'engine or ceiling row missing',
    ),
    target(
      "end-to-end ≥ 0.85 × engine (short documents, whole run's activeSeconds)",
      0.85,
      e2e?.vsEngine,
      'end-to-end or engine row missing',
    ),
    target(
      'engine ≥ 1.25 × llama-perplexity (tokens scored/s, identical chunks)',
      1.25,
      get('engine:chunks')?.vsLlamaPerplexity,
      'llama-perplexity not available',
    ),
    target(
      'engine ≥ 50 × node-llama-cpp (tokens scored/s, short documents)',
      50,
      engineShort?.vsNodeLlamaCpp,
      'node-llama-cpp row missing',
    ),
  ];
}

// ---- output ----

function rate(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

function ratio(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '';
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`;
}

export const TABLE_HEADER = [
  'row',
  'tokens scored (evaluated) / rep',
  'scored tok/s',
  'evaluated tok/s',
  '× ceiling',
  '× engine',
  '× llama-perplexity',
  '× node-llama-cpp',
  'peak RSS',
];

export function tableRows(rows: RowFigures[]): string[][] {
  return rows.map((row) => {
    if (row.repetitions === 0)
      return [
        row.label,
        `failed: ${(row.error ?? 'no result').split('\n')[0].slice(0, 80)}`,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ];
    const scored = row.kind === 'ceiling' ? '-' : rate(row.scoredPerSecond);
    let scoredCell = scored;
    if (row.kind === 'e2e' && typeof row.notes.wallScoredPerSecond === 'number')
      scoredCell = `${scored} (wall ${rate(row.notes.wallScoredPerSecond)})`;
    return [
      row.label,
      `${row.kind === 'ceiling' ? '-' : row.tokensScored.toLocaleString('en-US')} (${row.tokensEvaluated.toLocaleString('en-US')})`,
      scoredCell,
      rate(row.evaluatedPerSecond),
      ratio(row.vsCeiling),
      ratio(row.vsEngine),
      ratio(row.vsLlamaPerplexity),
      ratio(row.vsNodeLlamaCpp),
      formatBytes(row.peakRssBytes),
    ];
  });
}

export function textTable(header: string[], body: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(header: string[], body: string[][]): string {
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${header.map(escapeCell).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...body.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

export function targetLines(list: Target[], quick = false): string[] {
  return list.map((t) => {
    if (t.value === null) return `- ${t.name}: not measured (${t.reason})`;
    // three decimals, so that a value just under its threshold does not print as the threshold itself
    const value = t.value >= 10 ? t.value.toFixed(1) : t.value.toFixed(3);
    return quick
      ? `- ${t.name}: ${value} (--quick: a smoke run, not a measurement)`
      : `- ${t.name}: ${value} → ${t.met ? 'met' : 'MISSED'}`;
  });
}

export function modelHeading(report: ModelReport): string {
  const m = report.model;
  const o = report.engineOptions;
  const tensors = typeof m.tensorType === 'string' ? ` ${m.tensorType.toUpperCase()}` : '';
  const threads = Number(o.threads) === 1 ? '1 thread' : `${String(o.threads)} threads`;
  return `${String(m.name)}: ${String(m.architecture)}${tensors}, vocabulary ${String(m.vocabularySize)}, ${(Number(m.parameterCount) / 1e6).toFixed(1)} M parameters, ${formatBytes(Number(m.sizeBytes))}; context ${String(o.contextSize)}, stride ${String(o.stride)}, batch ${String(o.batchSize)}, at most ${String(o.maxSequences)} sequences per decode, ${threads}`;
}

export function markdownReport(report: BenchReport): string {
  const parts: string[] = [];
  const m = report.machine;
  parts.push(
    `Measured ${report.date.slice(0, 10)} on ${m.cpuModel} (${m.cpus} cores, ${formatBytes(m.memoryBytes)} RAM, GPU: ${m.gpu}), ${report.threads === 1 ? '1 thread' : `${report.threads} threads`} for every row, median of ${report.repetitions} interleaved repetitions${report.quick ? ' (--quick: a smoke run, not a measurement)' : ''}; load average ${m.loadAverageStart.toFixed(1)} at the start${m.loadAverageEnd !== undefined ? `, ${m.loadAverageEnd.toFixed(1)} at the end` : ''}.`,
  );
  for (const model of report.models) {
    parts.push(`**${modelHeading(model)}**`);
    parts.push(markdownTable(TABLE_HEADER, tableRows(model.rows)));
    parts.push(targetLines(model.targets, report.quick).join('\n'));
    if (model.notes.length > 0) parts.push(model.notes.map((note) => `- ${note}`).join('\n'));
  }
  if (report.train) parts.push(trainMarkdown(report.train).trimEnd());
  return `${parts.join('\n\n')}\n`;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp.json`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, path);
}

export function writeTextAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp.json`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}
