// Child process for tests of models that could crash llama.cpp: for each model in argv[2] (a JSON array), opens a
// scorer (compiled dist/), scores one text and prints one JSON line: {"model", "ok": true, ...} or
// {"model", "ok": false, "code", "message"}. A crash shows as the child's signal and the lines it never printed.
import { openScorer } from '../../dist/src/index.js';

const models = JSON.parse(process.argv[2]);
const options = JSON.parse(process.argv[3] ?? '{}');
for (const model of models) {
  let line;
  try {
    const scorer = await openScorer({ model, threads: 1, contextSize: 64, ...options });
    const [result] = await scorer.score(['Once upon a time there was a model.']);
    await scorer.close();
    line = { model, ok: true, nll: result.nll, tokens: result.tokens };
  } catch (error) {
    line = { model, ok: false, code: error.code ?? null, message: error.message };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
