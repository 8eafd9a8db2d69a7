/**
 * Host for infoprune's own rows (forked by bench/main.js; see protocol.ts).
 *   mode 'engine':  the public API, openScorer() + scorer.scoreTokens(): windows, decode, log-softmax, gather.
 *   mode 'ceiling': the same windows and llama_decode calls on a context with the engine's resolved options, with
 *                   logits for every position and nothing done with them (NativeContext.decodeOnly).
 * Timed: exactly the one call, on documents already in memory as Int32Arrays.
 */

import {
  cpuBackendInfo,
  type NativeContext,
  type NativeContextOptions,
  type NativeModel,
  nativeBinding,
} from '../../src/engine/native.js';
import { openScorer } from '../../src/engine/scorer.js';
import type { Scorer, ScorerOptions } from '../../src/engine/types.js';
import { peakRssBytes, resetPeakRss } from '../measure.js';
import { serve } from './protocol.js';

let scorer: Scorer | undefined;
let ceilingModel: NativeModel | undefined;
let ceilingContext: NativeContext | undefined;
let addsBos = true;
let windowing = { contextSize: 512, stride: 256 };
const workloads = new Map<string, { documents: Int32Array[]; bytes: number[] }>();

/** Tokens the engine evaluates for these documents (its window plan, replicated). */
function evaluatedTokens(documents: Int32Array[]): number {
  const { contextSize, stride } = windowing;
  let total = 0;
  for (const document of documents) {
    const length = document.length + (addsBos ? 1 : 0);
    if (length < 2) continue;
    for (let start = 0; ; start += stride) {
      const end = Math.min(start + contextSize, length);
      total += end - start;
      if (end === length) break;
    }
  }
  return total;
}

function workload(name: unknown) {
  const found = workloads.get(String(name));
  if (!found) throw new Error(`unknown workload ${String(name)}`);
  return found;
}

async function runOnce(
  documents: Int32Array[],
  bytes: number[],
): Promise<{ tokensScored: number; tokensEvaluated: number; nll: number }> {
  if (scorer) {
    const results = await scorer.scoreTokens(documents.map((tokens, i) => ({ tokens, bytes: bytes[i] })));
    let tokensScored = 0;
    let nll = 0;
    for (const result of results) {
      tokensScored += result.tokens;
      nll += result.nll;
    }
    return { tokensScored, tokensEvaluated: evaluatedTokens(documents), nll };
  }
  if (ceilingContext) return { tokensScored: 0, tokensEvaluated: await ceilingContext.decodeOnly(documents), nll: 0 };
  throw new Error('open first');
}

serve(async (request) => {
  switch (request.type) {
    case 'open': {
      const model = String(request.model);
      const options = request.options as Omit<ScorerOptions, 'model'> & Partial<NativeContextOptions>;
      if (request.mode === 'engine') {
        scorer = await openScorer({ model, ...options });
        addsBos = scorer.model.addsBos;
        windowing = { contextSize: scorer.options.contextSize, stride: scorer.options.stride };
        return { options: scorer.options, model: scorer.model, cpuBackend: cpuBackendInfo() };
      }
      const binding = nativeBinding();
      ceilingModel = await binding.loadModel(model, { gpuLayers: 0, vocabOnly: false });
      addsBos = ceilingModel.info().addsBos;
      const resolved = options as NativeContextOptions;
      ceilingContext = new binding.NativeContext(ceilingModel, resolved);
      windowing = { contextSize: resolved.contextSize, stride: resolved.stride };
      return { options: resolved, model: ceilingModel.info(), systemInfo: binding.systemInfo() };
    }
    case 'workload': {
      workloads.set(String(request.name), {
        documents: request.documents as Int32Array[],
        bytes: request.bytes as number[],
      });
      return {};
    }
    case 'warmup': {
      // Untimed: first touches of the compute buffers and weights, on the workload's first documents.
      const { documents, bytes } = workload(request.workload);
      const count = Math.min(documents.length, Number(request.documents ?? 8));
      await runOnce(documents.slice(0, count), bytes.slice(0, count));
      return {};
    }
    case 'run': {
      const { documents, bytes } = workload(request.workload);
      const resetOk = resetPeakRss();
      const started = performance.now();
      const result = await runOnce(documents, bytes);
      const seconds = (performance.now() - started) / 1000;
      return { seconds, ...result, peakRssBytes: peakRssBytes(), peakRssPerRun: resetOk };
    }
    case 'logprobs': {
      // Untimed cross-checks: each document's log-probabilities (engine mode only).
      if (!scorer) throw new Error('logprobs needs the engine mode');
      const { documents, bytes } = workload(request.workload);
      const count = Math.min(documents.length, Number(request.count ?? documents.length));
      const results = await scorer.scoreTokens(
        documents.slice(0, count).map((tokens, i) => ({ tokens, bytes: bytes[i] })),
        { logprobs: true },
      );
      return { logprobs: results.map((result) => result.logprobs!), nll: results.map((result) => result.nll) };
    }
    default:
      throw new Error(`unknown request ${request.type}`);
  }
});
