/**
 * Host for the Node peer (forked by bench/main.js; see ../hosts/protocol.ts): what a Node user would write without
 * infoprune to get every token's log-probability, i.e. node-llama-cpp's `controlledEvaluate` with
 * `generateNext.probabilities` on each position, one document at a time on one sequence (the same code as the
 * engine's oracle test, test/helpers/oracle-logprobs.mjs). Its own process: node-llama-cpp's llama.cpp never shares a
 * process with infoprune's addon.
 * Timed: the loop over the documents (clearHistory, controlledEvaluate, reading each target's probability).
 */
import {
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { serve } from '../hosts/protocol.js';
import { peakRssBytes, resetPeakRss } from '../measure.js';

let llama: Llama | undefined;
let model: LlamaModel | undefined;
let context: LlamaContext | undefined;
let sequence: LlamaContextSequence | undefined;
const workloads = new Map<string, number[][]>();
const sampling = { temperature: 1, topK: 0, topP: 1, minP: 0 };

/** Scores documents given as evaluated sequences (BOS included when the model adds it). */
async function score(
  documents: number[][],
  probabilities = true,
): Promise<{ tokensScored: number; tokensEvaluated: number; nll: number[]; missing: number }> {
  let tokensScored = 0;
  let tokensEvaluated = 0;
  let missing = 0;
  const nll: number[] = [];
  for (const tokens of documents) {
    await sequence!.clearHistory();
    // probabilities: false is the profile of the same calls without the per-position probability maps (each
    // position still returns its logits to node-llama-cpp via generateNext.token, so the decode is the same)
    const input = tokens.map((token, i) =>
      i < tokens.length - 1
        ? ([
            token as Token,
            {
              generateNext: probabilities
                ? { probabilities: true, options: sampling }
                : { token: true, options: sampling },
            },
          ] as const)
        : (token as Token),
    );
    const outputs = await sequence!.controlledEvaluate(
      input as Parameters<LlamaContextSequence['controlledEvaluate']>[0],
    );
    let documentNll = 0;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const probability = outputs[i]?.next?.probabilities?.get(tokens[i + 1] as Token);
      if (!probabilities) continue;
      if (probability === undefined) missing++;
      else documentNll -= Math.log(probability);
    }
    nll.push(documentNll);
    tokensScored += tokens.length - 1;
    tokensEvaluated += tokens.length;
  }
  return { tokensScored, tokensEvaluated, nll, missing };
}

serve(async (request) => {
  switch (request.type) {
    case 'open': {
      llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error });
      model = await llama.loadModel({ modelPath: String(request.model), gpuLayers: 0 });
      const contextSize = Number(request.contextSize);
      context = await model.createContext({
        contextSize,
        batchSize: contextSize,
        sequences: 1,
        threads: Number(request.threads),
        flashAttention: false,
      });
      sequence = context.getSequence();
      return {};
    }
    case 'workload': {
      workloads.set(String(request.name), request.documents as number[][]);
      return {};
    }
    case 'warmup': {
      const documents = workloads.get(String(request.workload))!;
      await score(documents.slice(0, Number(request.documents ?? 1)));
      return {};
    }
    case 'run': {
      const documents = workloads.get(String(request.workload));
      if (!documents) throw new Error(`unknown workload ${String(request.workload)}`);
      const resetOk = resetPeakRss();
      const started = performance.now();
      const result = await score(documents, request.probabilities !== false);
      const seconds = (performance.now() - started) / 1000;
      return { seconds, ...result, peakRssBytes: peakRssBytes(), peakRssPerRun: resetOk };
    }
    default:
      throw new Error(`unknown request ${request.type}`);
  }
});
