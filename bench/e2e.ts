/**
 * The end-to-end row: the `infoprune score` command (dist/src/cli/main.js) in its own process on a JSONL file of the
 * same documents: reading, tokenization in Piscina worker threads, packing, scoring, word counts, writing the score
 * file, checkpoints and the manifest.
 * Timed two ways: the manifest's `activeSeconds` (from the moment the model is loaded to the manifest: the steady
 * state that a long corpus sees, and what the ratio to the engine uses), and the whole process's wall time (adds
 * Node's start-up, the model load and the model file's sha256, a fixed cost per run).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runChild, type Sample } from './measure.js';

export interface EndToEndOptions {
  cli: string;
  input: string;
  model: string;
  workDir: string;
  contextSize: number;
  batchSize: number;
  threads: number;
  /** Tokens the engine evaluates for these documents (the same windows). */
  tokensEvaluated: number;
}

export function endToEndArgs(options: EndToEndOptions, out: string): string[] {
  return [
    options.cli,
    'score',
    options.input,
    '--model',
    options.model,
    '--out',
    out,
    '--context',
    String(options.contextSize),
    '--batch',
    String(options.batchSize),
    '--threads',
    String(options.threads),
    // every document scored: the ×4 input repeats the documents, which deduplication would score once
    '--dedup-entries',
    '0',
    '--quiet',
  ];
}

export async function runEndToEnd(options: EndToEndOptions, repetition: number): Promise<Sample> {
  const dir = join(options.workDir, `e2e-${repetition}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'scores.jsonl');
  const run = await runChild(process.execPath, endToEndArgs(options, out), { rssFile: join(dir, 'rss.txt') });
  if (run.code !== 0)
    throw new Error(
      `infoprune score exited with ${run.code ?? run.signal}:\n${(run.stdout + run.stderr).slice(-3000)}`,
    );
  const manifestPath = `${out}.manifest.json`;
  if (!existsSync(manifestPath)) throw new Error(`infoprune score wrote no manifest at ${manifestPath}`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    counts: { tokens: number; scored: number; read: number; skipped: number };
    activeSeconds: number;
  };
  let nll = 0;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (line) nll += (JSON.parse(line) as { nll: number }).nll;
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    seconds: manifest.activeSeconds,
    tokensScored: manifest.counts.tokens,
    tokensEvaluated: options.tokensEvaluated,
    peakRssBytes: run.peakRssBytes,
    extra: { wallSeconds: run.wallSeconds, documents: manifest.counts.scored, skipped: manifest.counts.skipped, nll },
  };
}
