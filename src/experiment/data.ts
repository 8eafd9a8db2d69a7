/**
 * The experiment's documents: a seeded sample of the inputs (the probe trainer's own sampler, src/train/sample.ts,
 * so the split is by document and reproducible), split into the training pool every subset is cut from and a held-out
 * slice every target is evaluated on (or the `heldout` inputs). The two never share a document: the sampler puts each
 * one on exactly one side, and the probe, when the experiment trains one, trains on the pool alone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SelectableDocument } from '../select/select.js';
import { sampleCorpus } from '../train/sample.js';
import type { ResolvedExperimentOptions } from './options.js';

/** A pool document: its identity for `select()` (the pool's position) and its text. */
export interface PoolDocument extends SelectableDocument {
  text: string;
}

export interface ExperimentData {
  pool: PoolDocument[];
  heldout: string[];
  poolBytes: number;
  heldoutBytes: number;
}

/** The split's seed: fixed, so that every seed of the experiment trains and evaluates on the same documents. */
export const SPLIT_SEED = 0;

export async function readExperimentData(run: ResolvedExperimentOptions): Promise<ExperimentData> {
  const corpus = await sampleCorpus({
    inputs: run.inputs,
    reading: run.reading,
    trainingBytes: run.poolBytes,
    share: undefined,
    heldoutInputs: run.heldout,
    seed: SPLIT_SEED,
    signal: run.signal,
  });
  const heldout: string[] = [];
  let heldoutBytes = 0;
  for (const text of corpus.heldout) {
    if (heldout.length > 0 && heldoutBytes + Buffer.byteLength(text) > run.heldoutBytes) break;
    heldout.push(text);
    heldoutBytes += Buffer.byteLength(text);
  }
  const pool = corpus.training.map((text, line) => ({ id: `pool-${line}`, source: 'pool', line, text }));
  return { pool, heldout, poolBytes: corpus.trainingBytes, heldoutBytes };
}

/** The pool and the held-out slice as JSONL, for the probe trainer (which reads files) and for the record. */
export function writeDataFiles(folder: string, data: ExperimentData): { pool: string; heldout: string } {
  const files = { pool: join(folder, 'pool.jsonl'), heldout: join(folder, 'heldout.jsonl') };
  writeFileSync(files.pool, data.pool.map(({ id, text }) => `${JSON.stringify({ id, text })}\n`).join(''));
  writeFileSync(
    files.heldout,
    data.heldout.map((text, i) => `${JSON.stringify({ id: `heldout-${i}`, text })}\n`).join(''),
  );
  return files;
}
