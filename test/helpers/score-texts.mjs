// Child process: scores the texts of argv[3] (a JSON array) with each model of argv[2] (a JSON array) through the
// compiled dist/, and prints one JSON line: {"cpuBackend": kind, "nll": [[per text] per model]}. The environment
// chooses the CPU backend (INFOPRUNE_CPU_BACKEND), which is why this runs in its own process.

import { cpuBackendInfo, nativeBinding } from '../../dist/src/engine/native.js';
import { openScorer } from '../../dist/src/index.js';

const models = JSON.parse(process.argv[2]);
const texts = JSON.parse(process.argv[3]);
nativeBinding(); // loads the backends, also when there is no model to score
const nll = [];
for (const model of models) {
  const scorer = await openScorer({ model, threads: 2, contextSize: 128 });
  nll.push((await scorer.score(texts)).map((result) => result.nll));
  await scorer.close();
}
process.stdout.write(`${JSON.stringify({ cpuBackend: cpuBackendInfo().kind, nll })}\n`);
