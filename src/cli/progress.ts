/**
 * What `infoprune score` shows while it runs: on a terminal a progress bar (cli-progress) with documents/s, tokens/s
 * and an ETA from input bytes; otherwise (logs, Slurm, Kubernetes) a plain line every `intervalMs`; and a final
 * summary line in both cases.
 */
import cliProgress from 'cli-progress';
import type { ScoreProgress } from '../pipeline/session.js';
import type { RunCounts } from '../scores/manifest.js';
import { formatCount, formatDuration } from '../util/format.js';

export type ProgressMode = 'bar' | 'lines' | 'none';

/** "1,234 read = 1,230 scored + 4 skipped (1 file error)". */
export function formatCounts(counts: RunCounts): string {
  const files = counts.fileErrors > 0 ? ` (${counts.fileErrors} file error${counts.fileErrors > 1 ? 's' : ''})` : '';
  const reused = counts.reused > 0 ? ` (${formatCount(counts.reused)} exact duplicates not scored again)` : '';
  return `${formatCount(counts.read)} read = ${formatCount(counts.scored)} scored + ${formatCount(counts.skipped)} skipped${files}${reused}`;
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
      documents: formatCount(progress.counts.read, { compact: true }),
      documentsRate: formatCount(progress.documentsPerSecond, { compact: true }),
      tokens: formatCount(progress.counts.tokens, { compact: true }),
      tokensRate: formatCount(progress.tokensPerSecond, { compact: true }),
      skipped: formatCount(progress.counts.skipped + progress.counts.fileErrors, { compact: true }),
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
