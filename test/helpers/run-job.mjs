// Child process for tests that could end a process by a signal: runs runScoreJob (compiled dist/) with the real
// engine. Usage: node run-job.mjs '<json: { job: ScoreJobOptions, truncateModelAfter?: number }>'. With
// truncateModelAfter, the model file is cut to half its size once that many outcomes were reported (between
// windows: the job's packing should keep one window in flight). Prints the summary, or {"error": {code, message}}.
import { statSync, truncateSync } from 'node:fs';
import { runScoreJob } from '../../dist/src/pipeline/job.js';

const { job, truncateModelAfter } = JSON.parse(process.argv[2]);
let outcomes = 0;
try {
  const summary = await runScoreJob({
    ...job,
    progressIntervalMs: 0,
    onProgress: () => {
      outcomes++;
      if (outcomes === truncateModelAfter) truncateSync(job.model, Math.floor(statSync(job.model).size / 2));
    },
  });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: { code: error.code ?? null, message: error.message } })}\n`);
}
