/**
 * The experiment's files: experiment.json (what decides the results, so a resumed experiment is the same one),
 * runs/<key>.json (one per finished run, written atomically: a killed experiment loses at most the run in progress),
 * results.json (every run and the analysis) and pool-scores.json (the probe's scores of the pool).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InfopruneError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import type { Analysis } from './analysis.js';
import type { PlannedRun, RunResult } from './plan.js';

export interface ExperimentFiles {
  folder: string;
  runs: string;
  models: string;
  data: string;
  record: string;
  results: string;
  report: string;
  summary: string;
  poolScores: string;
  probe: string;
}

export function experimentFiles(folder: string): ExperimentFiles {
  return {
    folder,
    runs: join(folder, 'runs'),
    models: join(folder, 'models'),
    data: join(folder, 'data'),
    record: join(folder, 'experiment.json'),
    results: join(folder, 'results.json'),
    report: join(folder, 'report.html'),
    summary: join(folder, 'summary.md'),
    poolScores: join(folder, 'pool-scores.json'),
    probe: join(folder, 'probe.gguf'),
  };
}

/**
 * The folder made ready: a new experiment starts; the same experiment continues from its finished runs; another
 * experiment's folder is replaced only with `overwrite`.
 */
export function prepareFolder(files: ExperimentFiles, key: Record<string, unknown>, overwrite: boolean): void {
  const wanted = JSON.stringify(key);
  if (existsSync(files.record)) {
    const found = JSON.stringify(JSON.parse(readFileSync(files.record, 'utf8')).key);
    if (found !== wanted) {
      if (!overwrite) {
        throw new InfopruneError(
          'RESUME_MISMATCH',
          (name) =>
            `${files.folder} holds an experiment with other inputs or settings: pass ${name('overwrite')} to start over there, or choose another folder`,
        );
      }
      for (const path of [
        files.runs,
        files.models,
        files.data,
        files.poolScores,
        files.probe,
        files.results,
        files.report,
        files.summary,
      ]) {
        rmSync(path, { recursive: true, force: true });
      }
      rmSync(`${files.probe}.training.json`, { force: true });
    }
  } else if (existsSync(files.folder) && readdirSync(files.folder).length > 0 && !overwrite) {
    throw new InfopruneError(
      'OUTPUT_EXISTS',
      (name) => `${files.folder} exists and holds no experiment: pass ${name('overwrite')} or choose another folder`,
    );
  }
  for (const folder of [files.folder, files.runs, files.models, files.data]) mkdirSync(folder, { recursive: true });
  writeFileAtomic(files.record, `${JSON.stringify({ version: 1, key }, null, 2)}\n`);
}

export function runFile(files: ExperimentFiles, run: Pick<PlannedRun, 'key'>): string {
  return join(files.runs, `${run.key}.json`);
}

/** The run's result, when an earlier session finished it. */
export function finishedRun(files: ExperimentFiles, run: PlannedRun): RunResult | undefined {
  const path = runFile(files, run);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as RunResult;
}

export function writeRun(files: ExperimentFiles, result: RunResult): void {
  writeFileAtomic(runFile(files, result), `${JSON.stringify(result, null, 2)}\n`, { durable: true });
}

export interface ResultsFile {
  version: 1;
  createdAt: string;
  infoprune: string;
  setup: Record<string, unknown>;
  runs: RunResult[];
  analysis: Analysis;
}

export function writeResults(files: ExperimentFiles, results: ResultsFile): void {
  writeFileAtomic(files.results, `${JSON.stringify(results, null, 2)}\n`);
}
