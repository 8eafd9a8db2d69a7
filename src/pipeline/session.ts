/**
 * A scoring session: the listed inputs, the open scorer, and the composed pipeline
 * (read units → prepare in workers → pack and score → outcomes in input order), with the run's counts.
 * The programmatic API (`scoreCorpus`) and the file-writing job (`runScoreJob`, behind `infoprune score`) are both
 * thin consumers of `outcomes()`.
 */
import { resolve } from 'node:path';
import { type InputFile, listInputs, type SkippedInput } from '../corpus/inputs.js';
import { type ReadPosition, readUnits, START_POSITION } from '../corpus/units.js';
import { openResolvedScorer } from '../engine/scorer.js';
import type { ScoreResult, Scorer } from '../engine/types.js';
import { InfopruneError } from '../errors.js';
import type { RunFileKind } from '../scores/files.js';
import { type RunCounts, zeroCounts } from '../scores/manifest.js';
import { type ScoreRecord, toScoreRecord } from '../scores/record.js';
import { DedupIndex } from './dedup.js';
import type { ResolvedScoreOptions } from './options.js';
import { prefetch } from './ordered.js';
import { type PackingOptions, packingFor, type ScoredDocument, scoreDocuments } from './pack.js';
import { DocumentPreparer } from './preparer.js';

/** A position that was not scored, as written to `<out>.errors.jsonl`. */
export interface SkippedRecord {
  source: string;
  line: number;
  reason: string;
  /** Whether it was a document (counted in `read` and `skipped`) or a fault of the file (truncated, unreadable). */
  document: boolean;
}

/** The inputs less the run's own files, with every file not read and why. */
function listOwnInputs(
  resolved: ResolvedScoreOptions,
  ownFiles: SessionOptions['ownFiles'],
): { inputs: InputFile[]; skipped: SkippedInput[] } {
  const skipped: SkippedInput[] = [];
  const own = (path: string) => ownFiles?.kind(resolve(path));
  const ownReason = "not read: this run's own file";
  const listed = listInputs(resolved.inputs, {
    format: resolved.reading.format,
    onSkipped: (input) => skipped.push(own(input.path) ? { path: input.path, reason: ownReason } : input),
  });
  const inputs = listed.filter((input) => {
    const kind = own(input.source);
    if (kind === undefined) return true;
    if (kind === 'output' && !ownFiles!.resuming) {
      throw new InfopruneError(
        'INPUT_IS_OUTPUT',
        (name) =>
          `${input.source} is among the inputs and is an output of this run, which would replace it: choose an ${name('out')} outside the input folders, or move the earlier outputs away`,
      );
    }
    skipped.push({ path: input.source, reason: ownReason });
    return false;
  });
  if (inputs.length === 0) {
    throw new InfopruneError(
      'INPUT_NOT_FOUND',
      `No input left in ${resolved.inputs.join(', ')} once the run's own files are left out`,
    );
  }
  return { inputs, skipped };
}

const NON_FINITE_REASON =
  "the model's log-probabilities are not finite (NaN or infinite): the model is broken (its weights or its numerics)";

/** One per position, in input order. */
export type Outcome =
  | {
      kind: 'scored';
      record: ScoreRecord;
      wordBuckets: Uint32Array;
      next: ReadPosition;
      windowEnd: boolean;
      /** The document as scored: its tokens, content hash, result (with log-probabilities when asked for). */
      document: ScoredDocument & { result: ScoreResult };
    }
  | {
      kind: 'skipped';
      skipped: SkippedRecord;
      next: ReadPosition;
      windowEnd: boolean;
      /** The position's bytes (with `keepRaw`), for writing it back out annotated. */
      raw?: Uint8Array;
    };

export interface ScoreProgress {
  counts: RunCounts;
  /**
   * Input bytes (compressed bytes for compressed files) behind the documents done so far, and their total: the
   * ETA's measure. Reading runs ahead of scoring by a window or two; this counts what is done.
   */
  inputBytesDone: number;
  inputBytesTotal: number;
  elapsedSeconds: number;
  documentsPerSecond: number;
  tokensPerSecond: number;
  /** Seconds left, from input bytes; undefined until there is a rate. */
  etaSeconds: number | undefined;
}

export interface SessionOptions {
  /**
   * The run's own files (src/scores/files.ts `runFileKind`): its state is left out of the inputs (and reported), its
   * outputs too when `resuming` (then the checkpoint's run made them); otherwise an output among the inputs is an
   * error (INPUT_IS_OUTPUT): this run would read a file it is about to replace.
   */
  ownFiles?: { kind: (absolutePath: string) => RunFileKind | undefined; resuming: boolean };
  /** Override the packing (tests, benchmarks). */
  packing?: Partial<PackingOptions>;
  /** The dedup index to use (restored from a run's log or a cache), null for none; default: a new one (`dedupEntries`). */
  dedup?: DedupIndex | null;
  /** Keep each position's bytes on its document (`raw`), for writing records back out annotated. */
  keepRaw?: boolean;
}

export class ScoreSession {
  readonly counts: RunCounts = zeroCounts();
  private keepRaw = false;
  /** Input bytes behind the documents done (see ScoreProgress), and each input's first byte in the total. */
  private inputBytesDone = 0;
  readonly inputBytesTotal: number;
  private readonly inputStarts: number[];
  private readonly startedAt = performance.now();
  /** Counts and bytes before this session (a resumed run's earlier part), so rates cover this session only. */
  private baseline = { tokens: 0, read: 0, inputBytes: 0 };

  private constructor(
    readonly options: ResolvedScoreOptions,
    readonly inputs: InputFile[],
    /** Files found in folders and globs that are not read (unknown or unsupported formats, the run's own files). */
    readonly skippedInputs: SkippedInput[],
    readonly scorer: Scorer,
    private readonly ownsScorer: boolean,
    private readonly packing: PackingOptions,
    /** Remembers each text's first occurrence, so that exact duplicates are not scored again. */
    readonly dedup: DedupIndex | undefined,
  ) {
    this.inputStarts = [];
    let total = 0;
    for (const input of inputs) {
      this.inputStarts.push(total);
      total += input.sizeBytes;
    }
    this.inputBytesTotal = total;
  }

  /** Lists the inputs, then opens the scorer (the slow part) unless one was given. Options are resolved already. */
  static async open(resolved: ResolvedScoreOptions, sessionOptions: SessionOptions = {}): Promise<ScoreSession> {
    const { skipped, inputs } = listOwnInputs(resolved, sessionOptions.ownFiles);
    resolved.signal?.throwIfAborted();
    const scorer = resolved.scorer ?? (await openResolvedScorer(resolved.engine!));
    const packing = { ...packingFor(scorer), ...sessionOptions.packing };
    const dedup =
      sessionOptions.dedup === undefined
        ? resolved.dedupEntries > 0
          ? new DedupIndex(resolved.dedupEntries)
          : undefined
        : (sessionOptions.dedup ?? undefined);
    const owned = resolved.scorer === undefined;
    const session = new ScoreSession(resolved, inputs, skipped, scorer, owned, packing, dedup);
    session.keepRaw = sessionOptions.keepRaw === true;
    return session;
  }

  /** Starts counting from an earlier run's counts (resume at `from`). */
  restoreCounts(counts: RunCounts, from: ReadPosition): void {
    Object.assign(this.counts, counts);
    // Input bytes already behind `from`: whole inputs before it, and the offset an uncompressed file reopens at.
    const current = this.inputs[from.input];
    const within = current && current.compression === 'none' && current.format !== 'parquet' ? from.offset : 0;
    this.inputBytesDone = (this.inputStarts[from.input] ?? this.inputBytesTotal) + within;
    this.baseline = { tokens: counts.tokens, read: counts.read, inputBytes: this.inputBytesDone };
  }

  /**
   * The outcomes from `from` on, in input order, counted as they are yielded. Stops early (cleanly) when the
   * consumer stops; throws an AbortError when `signal` aborts.
   */
  async *outcomes(from: ReadPosition = START_POSITION, signal = this.options.signal): AsyncGenerator<Outcome> {
    const { reading } = this.options;
    const preparer = new DocumentPreparer({
      inputs: this.inputs,
      parse: reading,
      wordBuckets: this.options.wordBuckets,
      workers: this.options.workers,
      tokenizerModule: this.options.tokenizerModule,
      model: this.options.model,
      tokenize: (text) => this.scorer.tokenizeSync(text),
      keepRaw: this.keepRaw,
      signal,
    });
    const units = readUnits(this.inputs, {
      textMode: reading.textMode,
      textField: reading.textField,
      idField: reading.idField,
      maxDocumentBytes: reading.maxDocumentBytes,
      shard: this.options.shard,
      from,
      signal,
    });
    // The next window's documents are prepared while the engine scores this one's: up to a window's worth of tokens
    // (a document's weight is its tokens, at least 1), so that memory stays bounded whatever the documents' sizes.
    const prepared = prefetch(preparer.prepare(units), this.packing.windowTokens, (document) =>
      Math.max(1, document.tokens.length),
    );
    const scored = scoreDocuments(prepared, {
      scorer: this.scorer,
      packing: this.packing,
      dedup: this.dedup,
      logprobs: this.options.tokenLogprobs,
      signal,
    });
    try {
      for await (const document of scored) {
        this.inputBytesDone = Math.max(this.inputBytesDone, this.inputStarts[document.input] + document.inputBytes);
        // A NaN or infinite sum is a broken model, never a score: the document fails with the reason.
        const nonFinite = document.result !== undefined && !Number.isFinite(document.result.nll);
        if (document.failure || !document.result || nonFinite) {
          const skipped: SkippedRecord = {
            source: document.source,
            line: document.line,
            reason: nonFinite ? NON_FINITE_REASON : (document.failure?.reason ?? 'not scored'),
            document: document.failure?.document ?? true,
          };
          if (nonFinite) this.counts.modelFailures++;
          if (skipped.document) {
            this.counts.read++;
            this.counts.skipped++;
          } else this.counts.fileErrors++;
          yield { kind: 'skipped', skipped, next: document.next, windowEnd: document.windowEnd, raw: document.raw };
        } else {
          const record = toScoreRecord(document, document.result);
          this.counts.read++;
          this.counts.scored++;
          if (document.dedup === 'reused') this.counts.reused++;
          this.counts.tokens += record.tokens;
          this.counts.bytes += record.bytes;
          this.counts.words += record.words;
          yield {
            kind: 'scored',
            record,
            wordBuckets: document.wordBuckets,
            next: document.next,
            windowEnd: document.windowEnd,
            document: document as ScoredDocument & { result: ScoreResult },
          };
        }
      }
    } finally {
      await scored.return(undefined);
      await preparer.close();
    }
  }

  progress(): ScoreProgress {
    const elapsedSeconds = (performance.now() - this.startedAt) / 1000;
    const seconds = Math.max(elapsedSeconds, 1e-9);
    const bytesRate = (this.inputBytesDone - this.baseline.inputBytes) / seconds;
    const left = Math.max(0, this.inputBytesTotal - this.inputBytesDone);
    return {
      counts: { ...this.counts },
      inputBytesDone: this.inputBytesDone,
      inputBytesTotal: this.inputBytesTotal,
      elapsedSeconds,
      documentsPerSecond: (this.counts.read - this.baseline.read) / seconds,
      tokensPerSecond: (this.counts.tokens - this.baseline.tokens) / seconds,
      etaSeconds: bytesRate > 0 ? left / bytesRate : undefined,
    };
  }

  /** Closes the scorer if this session opened it. */
  async close(): Promise<void> {
    if (this.ownsScorer) await this.scorer.close();
  }
}
