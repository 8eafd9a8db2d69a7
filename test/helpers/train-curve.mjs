// Child process: trains a small probe on the corpus argv[2] (JSON lines) into argv[3] through the compiled dist/, and
// prints one JSON line: {"cpuBackend": kind, "curve": [[step, train loss, held-out loss] per curve point]}. The
// environment chooses the CPU backend (INFOPRUNE_CPU_BACKEND), which is why this runs in its own process.

import { cpuBackendInfo } from '../../dist/src/engine/native.js';
import { trainProbe } from '../../dist/src/index.js';

const [corpus, out] = process.argv.slice(2);
const { record } = await trainProbe({
  inputs: [corpus],
  out,
  overwrite: true,
  // odd widths on purpose: the products' row and column tails, and grouped-query attention, take other code paths
  shape: { layers: 1, embedding: 48, heads: 3, kvHeads: 1, feedForward: 100, vocabularySize: 402 },
  budgetTokens: 256 * 24,
  learningRate: 3e-3, // so that 24 steps move the loss well beyond the tolerance
  warmupSteps: 2,
  bigramFitIterations: 0,
  threads: 2,
  seed: 5,
});
const curve = record.training.curve.map((point) => [point.step, point.trainLoss, point.heldoutLoss]);
process.stdout.write(`${JSON.stringify({ cpuBackend: cpuBackendInfo().kind, curve })}\n`);
