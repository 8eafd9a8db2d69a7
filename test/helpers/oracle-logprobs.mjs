#!/usr/bin/env node
// The independent path for the engine's oracle test: node-llama-cpp's own evaluation of the same tokens.
// Runs in its own process so its copy of llama.cpp never shares a process with infoprune's addon.
// Input (stdin, JSON): { model, contextSize, documents: number[][] (evaluated sequences, BOS included if any) }
// Output (stdout, JSON): number[][]: for each document, ln p(token[i] | token[0..i)) for i = 1..n-1.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const {
  model: modelPath,
  contextSize,
  documents,
  flashAttention = false,
} = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize, sequences: 1, flashAttention });
const sequence = context.getSequence();
const sampling = { temperature: 1, topK: 0, topP: 1, minP: 0 };

const results = [];
for (const tokens of documents) {
  await sequence.clearHistory();
  const input = tokens.map((token, i) =>
    i < tokens.length - 1 ? [token, { generateNext: { probabilities: true, options: sampling } }] : token,
  );
  const outputs = await sequence.controlledEvaluate(input);
  const logprobs = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    const probability = outputs[i]?.next?.probabilities?.get(tokens[i + 1]);
    logprobs.push(probability === undefined ? null : Math.log(probability));
  }
  results.push(logprobs);
}
process.stdout.write(JSON.stringify(results));
await context.dispose();
await model.dispose();
await llama.dispose();
