/**
 * The documents a probe is trained and measured on: a seeded sample of the corpus, read with the same readers as
 * `score` (src/corpus), split by document into training text and a held-out slice. Each document's fate is a hash of
 * (seed, its position), so the same inputs and seed always give the same split, on any machine.
 */
import { listInputs } from '../corpus/inputs.js';
import { type ReadingOptions, resolveReadingOptions } from '../corpus/options.js';
import { readCorpus } from '../corpus/read.js';
import { InfopruneError } from '../errors.js';
import { fmix32 } from '../util/hash.js';
import { TRAIN_DEFAULTS, type TrainProgress } from './options.js';

export interface ProbeCorpus {
  training: string[];
  heldout: string[];
  trainingBytes: number;
  heldoutBytes: number;
  /** Documents read (sampled or not), and the share sampled. */
  documentsRead: number;
  share: number;
  /** The corpus's text, roughly, from its file sizes. */
  estimatedTextBytes: number;
}

export interface SampleRequest {
  inputs: string[];
  reading: ReadingOptions;
  /** Text wanted for training; reading stops once it is collected. */
  trainingBytes: number;
  /** A fixed share to sample, or undefined for what `trainingBytes` needs, spread over the corpus. */
  share: number | undefined;
  /** Held-out documents from these inputs instead of a slice of `inputs`. */
  heldoutInputs: string[] | undefined;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (progress: Pick<TrainProgress, 'documents' | 'bytes'>) => void;
}

/** A uniform number in [0, 1) from (seed, salt, position). */
function uniform(seed: number, salt: number, position: number): number {
  return fmix32(fmix32(seed ^ Math.imul(salt, 0x9e3779b9)) ^ position) / 2 ** 32;
}

/** How much text the inputs hold, roughly: compressed files are counted at a typical text ratio. */
function estimatedTextBytes(inputs: string[], reading: ReadingOptions): number {
  const format = resolveReadingOptions(reading).format;
  return listInputs(inputs, { format }).reduce(
    (sum, file) => sum + file.sizeBytes * (file.compression === 'none' && file.format !== 'parquet' ? 1 : 3.5),
    0,
  );
}

export async function sampleCorpus(request: SampleRequest): Promise<ProbeCorpus> {
  // Read a share that collects the wanted text with room to spare, wherever in the corpus it lies.
  const estimated = estimatedTextBytes(request.inputs, request.reading);
  const share = request.share ?? Math.min(1, (2 * request.trainingBytes) / estimated);
  const holdOut = request.heldoutInputs === undefined;
  const corpus: ProbeCorpus = {
    training: [],
    heldout: [],
    trainingBytes: 0,
    heldoutBytes: 0,
    documentsRead: 0,
    share,
    estimatedTextBytes: estimated,
  };
  let position = 0;
  for await (const record of readCorpus(request.inputs, {
    ...request.reading,
    parquetRows: false,
    signal: request.signal,
  })) {
    const index = position++;
    corpus.documentsRead++;
    if (uniform(request.seed, 1, index) >= share) continue;
    const bytes = Buffer.byteLength(record.text);
    if (
      holdOut &&
      corpus.heldoutBytes < TRAIN_DEFAULTS.heldoutMaxBytes &&
      uniform(request.seed, 2, index) < TRAIN_DEFAULTS.heldoutShare
    ) {
      corpus.heldout.push(record.text);
      corpus.heldoutBytes += bytes;
    } else {
      corpus.training.push(record.text);
      corpus.trainingBytes += bytes;
    }
    if (corpus.documentsRead % 1000 === 0)
      request.onProgress?.({ documents: corpus.documentsRead, bytes: corpus.trainingBytes });
    if (corpus.trainingBytes >= request.trainingBytes && (!holdOut || corpus.heldout.length > 0)) break;
  }
  if (request.heldoutInputs) {
    for await (const record of readCorpus(request.heldoutInputs, {
      ...request.reading,
      parquetRows: false,
      signal: request.signal,
    })) {
      corpus.heldout.push(record.text);
      corpus.heldoutBytes += Buffer.byteLength(record.text);
    }
  }
  checkEnough(corpus);
  return corpus;
}

function checkEnough(corpus: ProbeCorpus): void {
  if (corpus.documentsRead === 0) {
    throw new InfopruneError('NO_DOCUMENTS', 'The inputs hold no readable document to train a probe on');
  }
  // A small corpus may leave one side empty by chance: move one document across.
  if (corpus.training.length === 0 && corpus.heldout.length > 1) move(corpus.heldout, corpus.training, corpus, -1);
  if (corpus.heldout.length === 0 && corpus.training.length > 1) move(corpus.training, corpus.heldout, corpus, 1);
  if (corpus.training.length === 0 || corpus.heldout.length === 0) {
    throw new InfopruneError(
      'CORPUS_TOO_SMALL',
      `The corpus holds ${corpus.documentsRead} document(s): training a probe needs at least two (one to train on, one to measure it), or pass heldout`,
    );
  }
  if (corpus.trainingBytes < TRAIN_DEFAULTS.minTrainingBytes) {
    throw new InfopruneError(
      'CORPUS_TOO_SMALL',
      `The training documents hold ${corpus.trainingBytes} bytes of text: a probe needs at least ${TRAIN_DEFAULTS.minTrainingBytes}`,
    );
  }
}

function move(from: string[], to: string[], corpus: ProbeCorpus, towardsHeldout: 1 | -1): void {
  const text = from.pop() as string;
  to.push(text);
  const bytes = Buffer.byteLength(text);
  corpus.heldoutBytes += towardsHeldout * bytes;
  corpus.trainingBytes -= towardsHeldout * bytes;
}
