/**
 * Where a scoring run's outcomes go while it runs: the append logs (records, errors, and when asked for the token
 * log-probability sidecar and its index), the word table, the run's log of first occurrences (what a resume reuses
 * duplicates of) and the cross-run cache. Opened fresh or cut back to a checkpoint's lengths; every log is made
 * durable by `sync` before a checkpoint records its length.
 */
import { existsSync } from 'node:fs';
import type { ScoreFilePaths } from '../scores/files.js';
import { encodeIndexEntry, encodeTokenData, sidecarHeader } from '../scores/logprobs.js';
import { scoreRecordLine } from '../scores/record.js';
import type { WordFrequencyTable } from '../text/word-frequency.js';
import { AppendLog } from './append-log.js';
import type { DedupIndex } from './dedup.js';
import { countWordBuckets } from './prepare.js';
import { encodeEntry, loadEntries, type ScoreCache } from './score-cache.js';
import type { Outcome, SkippedRecord } from './session.js';

/** The logs beyond records and errors, by name: what a checkpoint records the lengths of. */
export interface ExtraLogLengths {
  dedup?: number;
  tokenData?: number;
  tokenIndex?: number;
}

export interface RunWriterOptions {
  paths: ScoreFilePaths;
  table: WordFrequencyTable;
  dedup?: DedupIndex;
  cache?: ScoreCache;
  /** Write the token log-probability sidecar; `addsBos` is the model's BOS policy (its header says it). */
  tokenLogprobs?: { addsBos: boolean };
}

export class RunWriter {
  private constructor(
    readonly scores: AppendLog,
    readonly errors: AppendLog,
    private readonly extra: { dedup?: AppendLog; tokenData?: AppendLog; tokenIndex?: AppendLog },
    private readonly options: RunWriterOptions,
  ) {}

  /** New, empty logs. */
  static create(options: RunWriterOptions): RunWriter {
    const { paths, dedup, tokenLogprobs } = options;
    const extra: RunWriter['extra'] = {};
    if (dedup) extra.dedup = AppendLog.create(paths.partialDedup);
    if (tokenLogprobs) {
      extra.tokenData = AppendLog.create(paths.partialTokenLogprobs);
      extra.tokenIndex = AppendLog.create(paths.partialTokenIndex);
      extra.tokenData.append(sidecarHeader('data', tokenLogprobs.addsBos));
      extra.tokenIndex.append(sidecarHeader('index', tokenLogprobs.addsBos));
    }
    return new RunWriter(AppendLog.create(paths.partialScores), AppendLog.create(paths.partialErrors), extra, options);
  }

  /**
   * The interrupted run's logs cut back to its checkpoint's lengths, and the dedup index restored from the first
   * occurrences logged before it (so a resumed run reuses exactly what the uninterrupted one would have).
   */
  static reopen(
    options: RunWriterOptions,
    lengths: { scores: number; errors: number; extra: ExtraLogLengths },
  ): RunWriter {
    const { paths, dedup, tokenLogprobs } = options;
    const extra: RunWriter['extra'] = {};
    if (dedup) {
      if (lengths.extra.dedup !== undefined && existsSync(paths.partialDedup)) {
        loadEntries(paths.partialDedup, dedup, lengths.extra.dedup);
        extra.dedup = AppendLog.reopen(paths.partialDedup, lengths.extra.dedup);
      } else extra.dedup = AppendLog.create(paths.partialDedup);
    }
    if (tokenLogprobs) {
      extra.tokenData = AppendLog.reopen(paths.partialTokenLogprobs, lengths.extra.tokenData ?? 0);
      extra.tokenIndex = AppendLog.reopen(paths.partialTokenIndex, lengths.extra.tokenIndex ?? 0);
    }
    return new RunWriter(
      AppendLog.reopen(paths.partialScores, lengths.scores),
      AppendLog.reopen(paths.partialErrors, lengths.errors),
      extra,
      options,
    );
  }

  /** One outcome into the logs, in input order. */
  write(outcome: Outcome): void {
    if (outcome.kind === 'skipped') {
      this.errors.append(errorLine(outcome.skipped));
      return;
    }
    this.scores.append(scoreRecordLine(outcome.record));
    countWordBuckets(this.options.table, outcome.wordBuckets);
    const { document } = outcome;
    const index = this.options.dedup;
    let sidecarOffset = -1;
    if (this.extra.tokenData && this.extra.tokenIndex) {
      sidecarOffset = document.dedup === 'reused' ? (index?.sidecarOffset(document.hash, 0, document.bytes) ?? -1) : -1;
      if (sidecarOffset < 0) {
        sidecarOffset = this.extra.tokenData.length;
        const addsBos = this.options.tokenLogprobs!.addsBos;
        this.extra.tokenData.append(encodeTokenData(document.tokens, document.result.logprobs, addsBos));
        if (document.dedup === 'first') index?.setSidecarOffset(document.hash, 0, document.bytes, sidecarOffset);
      }
      this.extra.tokenIndex.append(encodeIndexEntry(sidecarOffset, document.tokens.length));
    }
    if (document.dedup === 'first') {
      const { tokens, nll } = document.result;
      this.extra.dedup?.append(encodeEntry(document.hash, 0, document.bytes, { tokens, nll, sidecarOffset }));
      this.options.cache?.append(encodeEntry(document.hash, 0, document.bytes, { tokens, nll, sidecarOffset: -1 }));
    }
  }

  /** Flushes every log to disk: after this, their lengths survive a crash. */
  sync(): void {
    this.scores.sync();
    this.errors.sync();
    for (const log of Object.values(this.extra)) log?.sync();
    this.options.cache?.sync();
  }

  /** The extra logs' lengths, for a checkpoint. */
  extraLengths(): ExtraLogLengths {
    const lengths: ExtraLogLengths = {};
    for (const [name, log] of Object.entries(this.extra)) if (log) lengths[name as keyof ExtraLogLengths] = log.length;
    return lengths;
  }

  close(): void {
    this.scores.close();
    this.errors.close();
    for (const log of Object.values(this.extra)) log?.close();
    this.options.cache?.close();
  }
}

export function errorLine(skipped: SkippedRecord): string {
  return `${JSON.stringify({ source: skipped.source, line: skipped.line, reason: skipped.reason })}\n`;
}
