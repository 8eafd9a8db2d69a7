/**
 * `runScoreJob` (behind `infoprune score`): the scoring pipeline's outcomes, in input order, written to files that
 * survive being killed at any instant. Records go to the append log `<out>.partial.jsonl`, positions that were not
 * scored to `<out>.errors.jsonl.partial`; checkpoints (src/pipeline/checkpoint.ts) make `resume` continue exactly
 * where the last one left off; at the end the outputs are put in place, the manifest last
 * (src/scores/finalize.ts). The driver reads as its steps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type ReadPosition, START_POSITION } from '../corpus/units.js';
import { InfopruneError } from '../errors.js';
import { writeDoneMarker } from '../scores/done.js';
import { runFileKind, type ScoreFilePaths, scoreFileFormat } from '../scores/files.js';
import { finalizeScoreFile } from '../scores/finalize.js';
import {
  buildManifest,
  type FailureShare,
  failureShare,
  type ManifestProbe,
  type RunCounts,
  runIdentity,
  type ScoreManifest,
} from '../scores/manifest.js';
import { OutputLock } from '../scores/output-safety.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { WORD_DEFINITION_VERSION } from '../text/words.js';
import {
  type Checkpoint,
  Checkpoints,
  checkpointWordsPath,
  checkSameRun,
  type RunDescription,
  readCheckpoint,
  removeRunState,
  removeStaleFiles,
} from './checkpoint.js';
import { DedupIndex } from './dedup.js';
import { checkOwnOutputs, identifyModel, stoppedAtCheckpoint } from './job-checks.js';
import {
  checkModel,
  checkOutputFolder,
  type ResolvedJob,
  resolveJobOptions,
  SCORE_JOB_DEFAULTS,
  type ScoreJobOptions,
} from './job-options.js';
import { ensureProbe, probeRequestOf } from './probe.js';
import { RunWriter } from './run-writer.js';
import { openScoreCache, type ScoreCache } from './score-cache.js';
import { ScoreSession } from './session.js';

export { SCORE_JOB_DEFAULTS, type ScoreJobOptions };

export interface ScoreJobSummary {
  /** `completed`: all outputs written. `stopped`: stopped on request after a checkpoint (resume to finish). */
  status: 'completed' | 'stopped';
  /** The run was already complete when `resume` was asked for: nothing was done. */
  alreadyComplete: boolean;
  counts: RunCounts;
  /** This session's seconds, and its scored tokens per second. */
  seconds: number;
  tokensPerSecond: number;
  resumedFrom?: ReadPosition;
  outputs: ScoreFilePaths;
  /**
   * How much failed, against `maxErrorRate`: `exceeded` when the share of failed records is above it, or when nothing
   * was scored at all (a run where every record was skipped never succeeds). The outputs are complete either way.
   */
  failures: FailureShare & { maxErrorRate: number; exceeded: boolean };
}

export async function runScoreJob(options: ScoreJobOptions): Promise<ScoreJobSummary> {
  // 1. Options, resolved once: a bad value fails here, before any file is read or model loaded.
  const job = resolveJobOptions(options);
  const probeRequest = probeRequestOf(options);
  checkOutputFolder(job);
  if (!probeRequest) checkModel(job);
  // 2. The output locked for this run: a second run writing it fails at once (the lock dies with the process).
  const lock = OutputLock.acquire(job.out, `The output ${job.out}`);
  try {
    return await runLocked(job, options, probeRequest);
  } finally {
    lock.release();
  }
}

async function runLocked(
  job: ResolvedJob,
  options: ScoreJobOptions,
  probeRequest: ReturnType<typeof probeRequestOf>,
): Promise<ScoreJobSummary> {
  // 3. What is at `out`: nothing, an interrupted run to resume (or discard), or a finished one (nothing to do).
  const start = findStart(job);
  if (start.complete) return start.complete;
  const previous = start.previous;
  // 3b. No model given: the paper's data probe, trained on this corpus (or the one trained for this run reused).
  const probe = probeRequest && (await ensureProbe(probeRequest, probeCallbacks(job, options)));
  checkModel(job);
  // 4. The session: inputs listed (the run's own files left out), scorer opened; the model hashed meanwhile (or its
  //    hash reused on resume). A failure stops the hash at once: it must not wait for a large model's hash.
  const hashing = new AbortController();
  const model = identifyModel(job.score.model, previous, hashing.signal);
  model.catch(() => undefined); // awaited below; this keeps a failure while the session opens from going unhandled
  const dedup = job.score.dedupEntries > 0 ? new DedupIndex(job.score.dedupEntries) : undefined;
  const ownFiles = { kind: runFileKind(job.out), resuming: previous !== undefined };
  const session = await ScoreSession.open(job.score, { ownFiles, packing: job.packing, dedup }).catch(
    (error: unknown) => {
      hashing.abort();
      throw error;
    },
  );
  for (const { path, reason } of session.skippedInputs) job.notice(`${path}: ${reason}`);
  let logs: RunWriter | undefined;
  try {
    // 5. A resume must continue the same run.
    const run = describeRun(session, await model, job.out);
    if (previous) checkSameRun(previous, run, job.out);
    // 6. The word table, the cache of earlier runs' scores, the checkpoints and the logs, fresh or as the last
    //    checkpoint left them.
    const table = previous ? loadCheckpointTable(job.out, previous) : new WordFrequencyTable(job.score.wordBuckets);
    const cache = openScoreCache(session, run.model.sha256, job.notice);
    const checkpoints = new Checkpoints(job.out, run, table, previous);
    const from = previous?.position ?? START_POSITION;
    logs = openLogs(job, session, checkpoints, { table, cache, previous });
    // 7. Score from `from` on, checkpointing at window ends; a stop request ends at the next one.
    if (logs && (await writeOutcomes(job, session, from, logs, checkpoints, table)) === 'stopped') {
      job.onProgress?.(session.progress());
      return summary(job, session, 'stopped', previous && from);
    }
    job.onProgress?.(session.progress());
    logs?.close();
    logs = undefined;
    // 8. The outputs put in place, the manifest last; then the run's state goes.
    await finalizeScoreFile(job.out, {
      table,
      manifest: () => manifestOf(job, session, run, table, checkpoints, probe),
    });
    checkpoints.remove();
    return summary(job, session, 'completed', previous && from);
  } catch (error) {
    hashing.abort();
    throw stoppedAtCheckpoint(error);
  } finally {
    logs?.close();
    await session.close();
  }
}

function probeCallbacks(job: ResolvedJob, options: ScoreJobOptions): Parameters<typeof ensureProbe>[1] {
  return { notice: job.notice, onProgress: options.onProbeProgress, signal: job.score.signal };
}

/** The checkpoint to resume from, none (a fresh start), or the summary of a run that is complete already. */
function findStart(job: ResolvedJob): { previous?: Checkpoint; complete?: ScoreJobSummary } {
  const { out, paths, notice } = job;
  const previous = readCheckpoint(out);
  if (previous && !job.resume && !job.overwrite) {
    throw new InfopruneError(
      'RUN_INCOMPLETE',
      (name) =>
        `An interrupted run left ${paths.checkpoint}: pass ${name('resume')} to continue it, or ${name('overwrite')} to discard it and start over`,
    );
  }
  if (previous && job.overwrite && !job.resume) {
    removeRunState(out);
    return {};
  }
  if (!previous && job.resume) {
    if (existsSync(paths.manifest) && existsSync(paths.scores)) {
      notice(`${out} is already complete (see ${paths.manifest}): nothing to resume`);
      const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8')) as ScoreManifest;
      if (!existsSync(paths.done)) writeDoneMarker(out, manifest); // killed between the manifest and the marker
      const counts = manifest.counts;
      return {
        complete: {
          status: 'completed',
          alreadyComplete: true,
          counts,
          seconds: 0,
          tokensPerSecond: 0,
          outputs: paths,
          failures: failuresOf(counts, job.maxErrorRate),
        },
      };
    }
    notice(`No checkpoint at ${paths.checkpoint}: starting from the beginning`);
  }
  if (!previous) checkOwnOutputs(job);
  return { previous };
}

/** The interrupted run's word table; one counted under another word definition cannot be continued. */
function loadCheckpointTable(out: string, previous: Checkpoint): WordFrequencyTable {
  const table = WordFrequencyTable.load(checkpointWordsPath(out, previous));
  if (table.wordDefinition !== WORD_DEFINITION_VERSION) {
    throw new InfopruneError(
      'RESUME_MISMATCH',
      (name) =>
        `Cannot resume ${out}: the interrupted run split words under definition ${table.wordDefinition} (an older infoprune), this one under ${WORD_DEFINITION_VERSION}; start over with ${name('overwrite')}`,
    );
  }
  return table;
}

function describeRun(session: ScoreSession, model: RunDescription['model'], out: string): RunDescription {
  const { reading, wordBuckets, shard } = session.options;
  return {
    identity: runIdentity(model, session.scorer, reading, wordBuckets, session.inputs),
    model,
    sources: session.inputs.map((input) => input.source),
    inputTimes: session.inputs.map((input) => input.modifiedMs),
    shard: shard ?? null,
    scoresFormat: scoreFileFormat(out),
    outputs: { dedupEntries: session.options.dedupEntries, tokenLogprobs: session.options.tokenLogprobs },
  };
}

/**
 * The run's logs: new ones (with a first checkpoint at the start), or the interrupted run's cut back to its
 * checkpoint (the dedup index reloaded from its log). None when the checkpoint says every outcome is saved already
 * (only finalizing is left).
 */
function openLogs(
  job: ResolvedJob,
  session: ScoreSession,
  checkpoints: Checkpoints,
  { table, cache, previous }: { table: WordFrequencyTable; cache?: ScoreCache; previous?: Checkpoint },
): RunWriter | undefined {
  const { out, paths } = job;
  const { tokenLogprobs } = session.options;
  const options = {
    paths,
    table,
    dedup: session.dedup,
    cache,
    tokenLogprobs: tokenLogprobs ? { addsBos: session.scorer.model.addsBos } : undefined,
  };
  if (!previous) {
    removeStaleFiles(out, undefined);
    const logs = RunWriter.create(options);
    checkpoints.save(START_POSITION, false, logs, session.counts, table);
    return logs;
  }
  const lengths = { scores: previous.scoresBytes, errors: previous.errorsBytes, extra: previous.extraLogs ?? {} };
  const logs = previous.finished ? undefined : RunWriter.reopen(options, lengths);
  session.restoreCounts(previous.counts, previous.position);
  removeStaleFiles(out, previous.wordsFile);
  if (logs) {
    const from = previous.position;
    const where = session.inputs[from.input]?.source ?? 'end';
    job.notice(`Resuming ${out} after ${previous.counts.read} documents (${where}, position ${from.units})`);
  }
  return logs;
}

/** The main loop: every outcome from `from` on into the logs. Returns whether it ran to the end or was stopped. */
async function writeOutcomes(
  job: ResolvedJob,
  session: ScoreSession,
  from: ReadPosition,
  logs: RunWriter,
  checkpoints: Checkpoints,
  table: WordFrequencyTable,
): Promise<'finished' | 'stopped'> {
  let lastCheckpoint = performance.now();
  let lastProgress = performance.now();
  for await (const outcome of session.outcomes(from)) {
    logs.write(outcome);
    if (outcome.windowEnd) {
      const stopping = job.stopSignal?.aborted === true;
      if (stopping || performance.now() - lastCheckpoint >= job.checkpointIntervalMs) {
        checkpoints.save(outcome.next, false, logs, session.counts, table);
        lastCheckpoint = performance.now();
      }
      if (stopping) return 'stopped';
    }
    if (job.onProgress && performance.now() - lastProgress >= job.progressIntervalMs) {
      lastProgress = performance.now();
      job.onProgress(session.progress());
    }
  }
  checkpoints.save({ input: session.inputs.length, units: 0, offset: 0 }, true, logs, session.counts, table);
  return 'finished';
}

function manifestOf(
  job: ResolvedJob,
  session: ScoreSession,
  run: RunDescription,
  table: WordFrequencyTable,
  checkpoints: Checkpoints,
  probe: ManifestProbe | undefined,
): ScoreManifest {
  return buildManifest({
    out: job.out,
    model: { path: run.model.path, sizeBytes: run.model.sizeBytes, sha256: run.model.sha256 },
    scorer: session.scorer,
    reading: session.options.reading,
    wordBuckets: table.buckets,
    inputs: session.inputs,
    identity: run.identity,
    skippedInputs: session.skippedInputs,
    shard: run.shard,
    counts: session.counts,
    startedAt: checkpoints.startedAt,
    activeSeconds: checkpoints.activeSeconds(),
    resumes: checkpoints.resumes,
    probe,
    reuse: {
      dedupEntries: session.options.dedupEntries,
      cache: session.options.cache ?? null,
      tokenLogprobs: session.options.tokenLogprobs,
    },
  });
}

function summary(
  job: ResolvedJob,
  session: ScoreSession,
  status: ScoreJobSummary['status'],
  resumedFrom: ReadPosition | undefined,
): ScoreJobSummary {
  const progress = session.progress();
  const counts = status === 'stopped' ? progress.counts : { ...session.counts };
  return {
    status,
    alreadyComplete: false,
    counts,
    seconds: progress.elapsedSeconds,
    tokensPerSecond: progress.tokensPerSecond,
    resumedFrom,
    outputs: job.paths,
    failures: failuresOf(counts, job.maxErrorRate),
  };
}

function failuresOf(counts: RunCounts, maxErrorRate: number): ScoreJobSummary['failures'] {
  const share = failureShare(counts);
  return {
    ...share,
    maxErrorRate,
    exceeded: share.nothingScored || share.rate > maxErrorRate || (counts.modelFailures ?? 0) > 0,
  };
}
