/**
 * The programmatic API for Node services: `scoreCorpus({ inputs, model })` streams one ScoreRecord per document,
 * in input order, with progress events and cancellation. Nothing is written to disk; `runScoreJob` (job.ts) is the
 * file-writing, resumable form behind `infoprune score`.
 */
import { type RunCounts, zeroCounts } from '../scores/manifest.js';
import type { ScoreRecord } from '../scores/record.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { usableCores } from '../util/cores.js';
import { expectFunction, expectInteger } from '../util/validate.js';
import { resolveScoreOptions, SCORE_DEFAULTS, type ScoreCorpusOptions } from './options.js';
import { countWordBuckets } from './prepare.js';
import { type ScoreProgress, ScoreSession, type SkippedRecord } from './session.js';

export interface ScoreCorpusCallbacks {
  /** Called about every `progressIntervalMs` while records flow, and once at the end. */
  onProgress?: (progress: ScoreProgress) => void;
  /** Default 1000. */
  progressIntervalMs?: number;
  /** Called for each position that is not scored (it yields no record). */
  onSkip?: (skipped: SkippedRecord) => void;
}

export interface ScoreCorpusRun extends AsyncIterable<ScoreRecord> {
  /** The word frequencies of the records yielded so far (the paper's f), complete once iteration ends. */
  readonly wordFrequency: WordFrequencyTable;
  /** Counts so far. */
  readonly counts: RunCounts;
}

/**
 * Scores every document of the inputs. Iterate the result once; the model is opened when iteration starts and
 * closed when it ends (unless `scorer` was given). Aborting `signal` makes the iteration throw an AbortError.
 * Options are validated at once: a bad option throws here, before anything is opened.
 */
export function scoreCorpus(options: ScoreCorpusOptions & ScoreCorpusCallbacks): ScoreCorpusRun {
  const resolved = resolveScoreOptions(options, usableCores());
  const { interval, onProgress, onSkip } = resolveCallbacks(options);
  const wordFrequency = new WordFrequencyTable(resolved.wordBuckets);
  let session: ScoreSession | undefined;
  let started = false;
  const run: ScoreCorpusRun = {
    wordFrequency,
    get counts(): RunCounts {
      return session ? { ...session.counts } : zeroCounts();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<ScoreRecord> {
      if (started) throw new Error('A scoreCorpus run can be iterated only once');
      started = true;
      session = await ScoreSession.open(resolved);
      let lastProgress = performance.now();
      try {
        for await (const outcome of session.outcomes()) {
          if (outcome.kind === 'scored') {
            countWordBuckets(wordFrequency, outcome.wordBuckets);
            yield outcome.record;
          } else onSkip?.(outcome.skipped);
          if (onProgress && performance.now() - lastProgress >= interval) {
            lastProgress = performance.now();
            onProgress(session.progress());
          }
        }
        onProgress?.(session.progress());
      } finally {
        await session.close();
      }
    },
  };
  return run;
}

function resolveCallbacks(options: ScoreCorpusCallbacks) {
  return {
    interval:
      options.progressIntervalMs === undefined
        ? SCORE_DEFAULTS.progressIntervalMs
        : expectInteger('progressIntervalMs', options.progressIntervalMs, 0),
    onProgress: expectFunction<NonNullable<ScoreCorpusCallbacks['onProgress']>>('onProgress', options.onProgress),
    onSkip: expectFunction<NonNullable<ScoreCorpusCallbacks['onSkip']>>('onSkip', options.onSkip),
  };
}
