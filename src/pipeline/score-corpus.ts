/**
 * The programmatic API for Node services: `scoreCorpus({ inputs, model })` streams one ScoreRecord per document,
 * in input order, with progress events and cancellation. Nothing is written to disk; `runScoreJob` (job.ts) is the
 * file-writing, resumable form behind `infoprune score`.
 */
import { alignedLogprobs } from '../scores/logprobs.js';
import { type RunCounts, zeroCounts } from '../scores/manifest.js';
import type { ScoreRecord } from '../scores/record.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { usableCores } from '../util/cores.js';
import { sha256File } from '../util/hash.js';
import { expectFunction, expectInteger } from '../util/validate.js';
import { resolveScoreOptions, SCORE_DEFAULTS, type ScoreCorpusOptions } from './options.js';
import { countWordBuckets } from './prepare.js';
import { encodeEntry, openScoreCache } from './score-cache.js';
import { type Outcome, type ScoreProgress, ScoreSession, type SkippedRecord } from './session.js';

export interface ScoreCorpusCallbacks {
  /** Called about every `progressIntervalMs` while records flow, and once at the end. */
  onProgress?: (progress: ScoreProgress) => void;
  /** Default 1000. */
  progressIntervalMs?: number;
  /** Called for each position that is not scored (it yields no record). */
  onSkip?: (skipped: SkippedRecord) => void;
}

/** A scored document as `scoreCorpus` yields it: its score record, and with `tokenLogprobs` its tokens. */
export interface CorpusScore extends ScoreRecord {
  /** With `tokenLogprobs`: every text token's id. */
  tokenIds?: Int32Array;
  /** With `tokenLogprobs`: ln p of each token given those before it (NaN for a first token scored without BOS). */
  logprobs?: Float32Array;
}

export interface ScoreCorpusRun extends AsyncIterable<CorpusScore> {
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
    async *[Symbol.asyncIterator](): AsyncGenerator<CorpusScore> {
      if (started) throw new Error('A scoreCorpus run can be iterated only once');
      started = true;
      // Records that carry their own log-probabilities cannot share a duplicate's: deduplication is off for them.
      session = await ScoreSession.open(resolved, resolved.tokenLogprobs ? { dedup: null } : {});
      const cache = resolved.cache ? openScoreCache(session, await sha256File(resolved.model), () => {}) : undefined;
      let lastProgress = performance.now();
      try {
        for await (const outcome of session.outcomes()) {
          if (outcome.kind === 'scored') {
            countWordBuckets(wordFrequency, outcome.wordBuckets);
            const { document } = outcome;
            if (document.dedup === 'first') {
              const { tokens, nll } = document.result;
              cache?.append(encodeEntry(document.hash, 0, document.bytes, { tokens, nll, sidecarOffset: -1 }));
            }
            yield resolved.tokenLogprobs
              ? withTokens(outcome.record, document, session.scorer.model.addsBos)
              : outcome.record;
          } else onSkip?.(outcome.skipped);
          if (onProgress && performance.now() - lastProgress >= interval) {
            lastProgress = performance.now();
            onProgress(session.progress());
          }
        }
        onProgress?.(session.progress());
      } finally {
        cache?.sync();
        cache?.close();
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

/** The record with its tokens and their log-probabilities, aligned as the sidecar stores them. */
function withTokens(record: ScoreRecord, document: ScoredOutcome['document'], addsBos: boolean): CorpusScore {
  const logprobs = alignedLogprobs(document.tokens.length, document.result.logprobs, addsBos);
  return { ...record, tokenIds: document.tokens.slice(), logprobs };
}

type ScoredOutcome = Extract<Outcome, { kind: 'scored' }>;
