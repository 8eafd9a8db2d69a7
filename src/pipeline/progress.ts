/**
 * What `infoprune score` shows while it runs: on a terminal a progress bar (cli-progress) with documents/s, tokens/s
 * and an ETA from input bytes; otherwise (logs, Slurm, Kubernetes) a plain line every `intervalMs`; and a final
 * summary line in both cases.
 */
import cliProgress from 'cli-progress';
import type { RunCounts, ScoreProgress } from './session.js';

export type ProgressMode = 'bar' | 'lines' | 'none';

/** 1234 → "1,234"; 1234567 → "1.23M" (for rates and large totals). */
export function formatCount(value: number): string {
  if (value < 10_000) return Math.round(value).toLocaleString('en-US');
  for (const [unit, size] of [
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (value >= size) return `${(value / size).toFixed(value >= size * 100 ? 0 : value >= size * 10 ? 1 : 2)}${unit}`;
  }
  return String(value);
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "1,234 read = 1,230 scored + 4 skipped (1 file error)". */
export function formatCounts(counts: RunCounts): string {
  const files = counts.fileErrors > 0 ? ` (${counts.fileErrors} file error${counts.fileErrors > 1 ? 's' : ''})` : '';
  return `${counts.read.toLocaleString('en-US')} read = ${counts.scored.toLocaleString('en-US')} scored + ${counts.skipped.toLocaleString('en-US')} skipped${files}`;
}

export class ProgressReporter {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = 10_000,
  ) {}

  /** `bar` on a terminal, `lines` otherwise, `none` when quiet. */
  static modeFor(stream: NodeJS.WriteStream, quiet: boolean): ProgressMode {
    return quiet ? 'none' : stream.isTTY ? 'bar' : 'lines';
  }

  update(progress: ScoreProgress): void {
    if (this.mode === 'none') return;
    const payload = {
      documents: formatCount(progress.counts.read),
      documentsRate: formatCount(progress.documentsPerSecond),
      tokens: formatCount(progress.counts.tokens),
      tokensRate: formatCount(progress.tokensPerSecond),
      skipped: formatCount(progress.counts.skipped + progress.counts.fileErrors),
      etaText: formatDuration(progress.etaSeconds),
    };
    const total = Math.max(1, progress.inputBytesTotal);
    const value = Math.min(progress.inputBytesDone, total);
    if (this.mode === 'bar') {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: this.stream,
            format:
              '{bar} {percentage}% | {documents} docs ({documentsRate}/s) | {tokens} tokens ({tokensRate}/s) | {skipped} skipped | ETA {etaText}',
            hideCursor: true,
            barsize: 24,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(total, value, payload);
      } else this.bar.update(value, payload);
      return;
    }
    const now = performance.now();
    if (now - this.lastLine < this.intervalMs) return;
    this.lastLine = now;
    const percent = ((100 * value) / total).toFixed(1);
    this.stream.write(
      `infoprune score: ${percent}% of input, ${payload.documents} documents (${payload.documentsRate}/s), ` +
        `${payload.tokens} tokens (${payload.tokensRate}/s), ${payload.skipped} skipped, ETA ${payload.etaText}\n`,
    );
  }

  /** A message that must not be garbled by the bar. */
  notice(message: string): void {
    if (this.mode === 'none') return;
    if (this.bar) this.bar.stop();
    this.bar = undefined;
    this.stream.write(`infoprune score: ${message}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
