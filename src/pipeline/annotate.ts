/**
 * `annotateCorpus` (behind `infoprune score --annotate`): the corpus of a completed scoring run written back out with
 * each record's scores under one key, in the input's format, so that any downstream tool can filter on them. The
 * run's manifest says which inputs were read and how; the records are read again with the same reader and joined with
 * the score file in input order (both list the documents in that order). Records that were read but not scored are
 * written unchanged, without the key (`<scores>.errors.jsonl` says why); lines that are not records at all (malformed
 * JSON) cannot be written back and are left out.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { describeFileName } from '../corpus/inputs.js';
import { type CorpusRecord, type ReadCorpusOptions, readCorpus } from '../corpus/read.js';
import { STDIN_ARGUMENT } from '../corpus/stdin.js';
import { commonFolder, KeptCorpusWriter } from '../corpus/write.js';
import { InfopruneError } from '../errors.js';
import { scoreFilePaths } from '../scores/files.js';
import { readManifest, type ScoreManifest } from '../scores/manifest.js';
import { readScoreFile } from '../scores/read.js';
import type { ScoreRecord } from '../scores/record.js';
import { WordFrequencyTable } from '../text/word-frequency.js';
import { expectString } from '../util/validate.js';

export const ANNOTATE_DEFAULTS = { key: 'infoprune' } as const;

export interface AnnotateOptions {
  /** The score file of a completed run (`runScoreJob`'s `out`, or a merge's); its manifest and word table beside it. */
  scores: string;
  /**
   * A folder (a name ending in `/`, or an existing folder): one output per input file, at its path relative to the
   * folder the inputs share, with the input's name (and compression). Otherwise one file holding every record:
   * JSONL inputs (its name says the compression: `.jsonl`, `.jsonl.gz`, `.jsonl.zst`), or a single Parquet input.
   */
  out: string;
  /** The key (JSONL) or column (Parquet) the scores go under. Default `infoprune`. */
  key?: string;
  signal?: AbortSignal;
}

export interface AnnotateSummary {
  /** Records written, of which `annotated` carry the key. */
  records: number;
  annotated: number;
  /** Output files, relative to `out` (a folder) or `out` itself. */
  files: string[];
}

/** What each record's key holds: its scores, its words' surprisal under the corpus frequencies, the model. */
function annotationOf(record: ScoreRecord, wordEntropy: number, model: string): string {
  return JSON.stringify({
    tokens: record.tokens,
    nll: record.nll,
    bits_per_token: record.bits_per_token,
    bits_per_byte: record.bits_per_byte,
    word_entropy: wordEntropy,
    model,
  });
}

export async function annotateCorpus(options: AnnotateOptions): Promise<AnnotateSummary> {
  // 1. Options, and the run: its manifest (inputs and reading options), its word table.
  const scores = expectString('scores', options.scores, { nonEmpty: true });
  const out = expectString('out', options.out, { nonEmpty: true });
  const key = expectString('key', options.key ?? ANNOTATE_DEFAULTS.key, { nonEmpty: true });
  const manifest = readManifest(scores);
  const sources = manifest.inputs.map((input) => input.source);
  const toFolder = /[/\\]$/.test(out) || (existsSync(out) && statSync(out).isDirectory());
  checkAnnotatable(manifest, out, toFolder);
  const table = WordFrequencyTable.load(scoreFilePaths(scores).words);
  // 2. The outputs written under a temporary name beside `out`, renamed into place when complete.
  const staging = toFolder ? `${out.replace(/[/\\]+$/, '')}.tmp-${process.pid}` : dirname(out);
  const single = `.tmp-${process.pid}-${basename(out)}`; // the name keeps its suffix: it says the compression
  const { format, textMode } = manifest.reading;
  const base = commonFolder(sources.filter((source) => source !== STDIN_ARGUMENT));
  const writer = new KeptCorpusWriter(staging, sources, textMode, format === 'auto' ? undefined : format, {
    annotationKey: key,
    pathFor: toFolder ? (source) => folderPathOf(base, source, manifest) : () => single,
  });
  if (toFolder) mkdirSync(staging, { recursive: true });
  try {
    // 3. The corpus and the scores, side by side in input order.
    const counts = await writeAnnotated(readCorpus(sources, { ...readingOf(manifest), signal: options.signal }), {
      scores: readScoreFile(scores, { signal: options.signal }),
      writer,
      annotation: (record, scored) => annotationOf(scored, table.wordEntropyBits(record.text), manifest.model.sha256),
    });
    await writer.close();
    // 4. Into place.
    if (toFolder) {
      rmSync(out, { recursive: true, force: true });
      renameSync(staging, out.replace(/[/\\]+$/, ''));
      return { ...counts, files: writer.files };
    }
    renameSync(join(staging, single), out);
    return { ...counts, files: [out] };
  } catch (error) {
    await writer.close().catch(() => undefined);
    rmSync(toFolder ? staging : join(staging, single), { recursive: true, force: true });
    throw error;
  }
}

/** The run's reading options, as it was given them (an id field it defaulted to may be missing from records). */
function readingOf({ reading }: ScoreManifest): ReadCorpusOptions {
  const { textField, textMode, format, maxDocumentBytes, idField } = reading;
  return { textField, textMode, format, maxDocumentBytes, ...(reading.idFieldExplicit ? { idField } : {}) };
}

/** Into a folder, each input keeps its name and place under the folder all inputs share (standard input: `stdin`). */
function folderPathOf(base: string, source: string, manifest: ScoreManifest): string {
  if (source !== STDIN_ARGUMENT) return relative(base, resolve(source)).split(sep).join('/');
  return manifest.inputs.find((input) => input.source === source)?.format === 'parquet'
    ? 'stdin.parquet'
    : 'stdin.jsonl';
}

async function writeAnnotated(
  records: AsyncIterable<CorpusRecord>,
  join: {
    scores: AsyncIterator<ScoreRecord>;
    writer: KeptCorpusWriter;
    annotation: (record: CorpusRecord, scored: ScoreRecord) => string;
  },
): Promise<{ records: number; annotated: number }> {
  let next = await join.scores.next();
  let written = 0;
  let annotated = 0;
  for await (const record of records) {
    const scored = !next.done && next.value.source === record.source && next.value.line === record.line;
    await join.writer.add(record, scored ? join.annotation(record, next.value) : undefined);
    written++;
    if (scored) {
      annotated++;
      next = await join.scores.next();
    }
  }
  if (!next.done) {
    throw new InfopruneError(
      'SCORES_MISMATCH',
      `The scores do not match the corpus: score record for ${next.value.source}:${next.value.line} has no record in the inputs (they changed since the run?)`,
    );
  }
  return { records: written, annotated };
}

/** The run must cover its inputs whole (a shard's scores cover part: annotate the merged scores) and have fields. */
function checkAnnotatable(manifest: ScoreManifest, out: string, toFolder: boolean): void {
  if (manifest.shard !== null) {
    throw new InfopruneError(
      'SCORES_MISMATCH',
      `These scores are one shard's (${manifest.shard.index}/${manifest.shard.count}): annotate the merged scores (infoprune merge)`,
    );
  }
  const formats = new Set(manifest.inputs.map((input) => input.format));
  if (formats.has('text')) {
    throw new InfopruneError(
      'INPUT_UNSUPPORTED',
      'Plain text inputs have no fields to add scores to: annotate JSONL or Parquet inputs (the score file holds the scores)',
    );
  }
  if (toFolder) {
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new InfopruneError('OUTPUT_EXISTS', `The annotated output folder ${out} exists and is not empty`);
    }
    return;
  }
  const wanted = describeFileName(out).format;
  const inputFormat = [...formats][0];
  const fits =
    formats.size === 1 && wanted === inputFormat && (inputFormat !== 'parquet' || manifest.inputs.length === 1);
  if (!fits) {
    throw new InfopruneError(
      'OUTPUT_NOT_WRITABLE',
      `One annotated file (${out}) takes JSONL inputs (a .jsonl, .jsonl.gz or .jsonl.zst name) or a single Parquet input (a .parquet name); for these inputs give a folder (ending in /)`,
    );
  }
}
