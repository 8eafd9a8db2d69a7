/**
 * The service benchmark's server (bench/service.ts): what a Node service developer writes, one shared scorer behind
 * node:http, in its own process. POST / with a text answers its score. `serial` mode puts each request's call
 * behind the previous one (one text per native call: the scorer without coalescing, for comparison).
 *
 * Requests (bench/hosts/protocol.ts): open { model, options, serial } → { port, options }; measure-start;
 * measure-end → { scorerStats, eventLoop }; tokenize { text } → how long a 1 MB tokenize blocks the event loop.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { openScorer } from '../../src/engine/scorer.js';
import type { Scorer, ScorerStats } from '../../src/engine/types.js';
import { serve } from './protocol.js';

let scorer: Scorer | undefined;
let server: Server | undefined;
let queue: Promise<unknown> = Promise.resolve();
let histogram: IntervalHistogram | undefined;
let statsAtStart: ScorerStats | undefined;

function handle(serial: boolean, text: string): Promise<unknown> {
  const call = () => scorer!.score([text]);
  if (!serial) return call();
  const result = queue.then(call, call);
  queue = result.catch(() => undefined);
  return result;
}

function listen(serial: boolean): Promise<number> {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      handle(serial, Buffer.concat(chunks).toString('utf8')).then(
        (results) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify((results as { bitsPerToken: number }[])[0]));
        },
        (error: Error) => {
          response.writeHead(500);
          response.end(error.message);
        },
      );
    });
  });
  return new Promise((resolve) =>
    server!.listen(0, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port)),
  );
}

/** Event-loop delay in milliseconds (the histogram counts nanoseconds). */
function delays(h: IntervalHistogram): { p50: number; p99: number; max: number } {
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

/** How long a tokenize of `text` blocks this thread: the synchronous call, and the async one with a timer running. */
async function tokenizeBlocking(text: string): Promise<Record<string, unknown>> {
  let started = performance.now();
  const tokens = scorer!.tokenizeSync(text).length;
  const syncSeconds = (performance.now() - started) / 1000;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  started = performance.now();
  await scorer!.tokenize(text);
  const asyncSeconds = (performance.now() - started) / 1000;
  h.disable();
  return { tokenize: { bytes: Buffer.byteLength(text), tokens, syncSeconds, asyncSeconds, asyncEventLoop: delays(h) } };
}

serve(async (request) => {
  switch (request.type) {
    case 'open': {
      scorer = await openScorer({ model: request.model as string, ...(request.options as object) });
      const port = await listen(request.serial === true);
      return { port, options: scorer.options };
    }
    case 'measure-start':
      statsAtStart = scorer!.stats;
      histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      return {};
    case 'measure-end': {
      histogram!.disable();
      const now = scorer!.stats;
      const scorerStats = {
        calls: now.calls - statsAtStart!.calls,
        batches: now.batches - statsAtStart!.batches,
        documents: now.documents - statsAtStart!.documents,
      };
      return { scorerStats, eventLoop: delays(histogram!) };
    }
    case 'tokenize':
      return tokenizeBlocking(request.text as string);
    default:
      throw new Error(`unknown request ${request.type}`);
  }
});
