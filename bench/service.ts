/**
 * The service section of `npm run bench`: one shared scorer behind node:http (bench/hosts/service-host.ts, its own
 * process), loaded by 1, 8 and 32 concurrent callers. Each caller sends one short Brown paragraph per request and the
 * next as soon as the answer comes (a closed loop) for `seconds`; requests/s counts the answered requests over the
 * run, latency is per request (p50, p99). Two servers: `coalesced` (the scorer as it is: calls that arrive while a
 * decode runs share the next one) and `serial` (each request's call waits for the previous one: one text per native
 * call, the scorer before coalescing). Runs are interleaved by round as every other row; figures are medians over
 * rounds. Also: how long a 1 MB tokenize blocks the server's event loop, with tokenizeSync and with tokenize.
 */
import { Agent, request } from 'node:http';
import { Host } from './hosts/protocol.js';
import { interleave, median } from './measure.js';
import { textSource } from './workloads.js';

export const SERVICE_CONCURRENCY = [1, 8, 32] as const;
const MODES = ['coalesced', 'serial'] as const;
type Mode = (typeof MODES)[number];

export interface ServiceOptions {
  model: { name: string; path: string };
  hostScript: string;
  threads: number;
  contextSize: number;
  rounds: number;
  /** Seconds each (mode, callers) run lasts. */
  seconds: number;
  log: (line: string) => void;
}

interface ServiceSample {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  scorerStats: { calls: number; batches: number; documents: number };
  eventLoop: { p50: number; p99: number; max: number };
}

export interface ServiceRow {
  mode: Mode;
  concurrency: number;
  rounds: number;
  /** Answered requests in the median round. */
  requests: number;
  requestsPerSecond: number;
  spread: [number, number];
  p50Ms: number;
  p99Ms: number;
  /** score() calls per native call (1 without coalescing). */
  callsPerBatch: number;
  /** The server's event-loop delay, p99 over the run. */
  eventLoopP99Ms: number;
  /** requests/s over the serial server's at the same concurrency, median of per-round ratios. */
  vsSerial: number | null;
}

export interface ServiceReport {
  model: string;
  options: Record<string, unknown>;
  texts: { count: number; meanBytes: number; source: string };
  secondsPerRun: number;
  rows: ServiceRow[];
  tokenize: Record<string, unknown> | null;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Short paragraphs (200-1,200 bytes, about 50-300 tokens), in corpus order. */
function requestTexts(): { texts: string[]; source: string } {
  const source = textSource();
  const texts = source.paragraphs.filter((text) => text.length >= 200 && text.length <= 1200).slice(0, 2000);
  return { texts, source: source.name };
}

function post(agent: Agent, port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent }, (response) => {
      response.resume();
      response.on('end', () =>
        response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`)),
      );
    });
    call.on('error', reject);
    call.end(text);
  });
}

/** `concurrency` callers in a closed loop for `seconds`; every request's latency. */
async function load(port: number, texts: string[], concurrency: number, seconds: number, offset: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs: number[] = [];
  let next = offset;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const caller = async () => {
    while (performance.now() < deadline) {
      const text = texts[next++ % texts.length];
      const sent = performance.now();
      await post(agent, port, text);
      latenciesMs.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests: latenciesMs.length, seconds: elapsed, latenciesMs };
}

function summarise(
  mode: Mode,
  concurrency: number,
  samples: ServiceSample[],
  serial: ServiceSample[] | null,
): ServiceRow {
  const rates = samples.map((sample) => sample.requests / sample.seconds);
  const mid = samples[rates.indexOf(median(rates))] ?? samples[0];
  const sorted = (sample: ServiceSample) => [...sample.latenciesMs].sort((a, b) => a - b);
  const ratios = serial
    ? samples.map((sample, i) => sample.requests / sample.seconds / (serial[i].requests / serial[i].seconds))
    : [];
  return {
    mode,
    concurrency,
    rounds: samples.length,
    requests: mid.requests,
    requestsPerSecond: median(rates),
    spread: [Math.min(...rates), Math.max(...rates)],
    p50Ms: median(samples.map((sample) => percentile(sorted(sample), 50))),
    p99Ms: median(samples.map((sample) => percentile(sorted(sample), 99))),
    callsPerBatch: median(samples.map((sample) => sample.scorerStats.calls / Math.max(1, sample.scorerStats.batches))),
    eventLoopP99Ms: median(samples.map((sample) => sample.eventLoop.p99)),
    vsSerial: serial ? median(ratios) : null,
  };
}

export async function benchService(options: ServiceOptions): Promise<ServiceReport> {
  const { texts, source } = requestTexts();
  const engineOptions = { contextSize: options.contextSize, threads: options.threads };
  const hosts = new Map<Mode, { host: Host; port: number }>();
  try {
    let resolved: Record<string, unknown> = {};
    for (const mode of MODES) {
      const host = new Host(`service-${mode}`, options.hostScript);
      const opened = await host.request<{ port: number; options: Record<string, unknown> }>('open', {
        model: options.model.path,
        options: engineOptions,
        serial: mode === 'serial',
      });
      hosts.set(mode, { host, port: opened.port });
      resolved = opened.options;
    }
    // warm-up (untimed): every server answers a few requests first
    for (const { port } of hosts.values()) await load(port, texts, 4, 0.2, 0);
    const tasks = MODES.flatMap((mode) =>
      SERVICE_CONCURRENCY.map((concurrency) => ({ id: `${mode}-${concurrency}`, mode, concurrency })),
    );
    const samples = new Map<string, ServiceSample[]>(tasks.map((task) => [task.id, []]));
    await interleave(tasks, options.rounds, async (task, round) => {
      const { host, port } = hosts.get(task.mode)!;
      await host.request('measure-start');
      const ran = await load(port, texts, task.concurrency, options.seconds, round * 997);
      const server = await host.request<Pick<ServiceSample, 'scorerStats' | 'eventLoop'>>('measure-end');
      samples.get(task.id)![round] = { ...ran, scorerStats: server.scorerStats, eventLoop: server.eventLoop };
      options.log(
        `service ${task.id} callers, round ${round + 1}: ${(ran.requests / ran.seconds).toFixed(1)} requests/s`,
      );
    });
    const rows = tasks.map((task) =>
      summarise(
        task.mode,
        task.concurrency,
        samples.get(task.id)!,
        task.mode === 'coalesced' ? samples.get(`serial-${task.concurrency}`)! : null,
      ),
    );
    const megabyte = texts
      .join('\n')
      .repeat(Math.ceil(1e6 / texts.join('\n').length))
      .slice(0, 1_000_000);
    const blocking = await hosts.get('coalesced')!.host.request<{ tokenize: Record<string, unknown> }>('tokenize', {
      text: megabyte,
    });
    return {
      model: options.model.name,
      options: resolved,
      texts: {
        count: texts.length,
        meanBytes: texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / texts.length,
        source,
      },
      secondsPerRun: options.seconds,
      rows,
      tokenize: blocking.tokenize,
    };
  } finally {
    await Promise.all([...hosts.values()].map(({ host }) => host.close()));
  }
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** The section as Markdown (also what the console shows). */
export function serviceMarkdown(report: ServiceReport): string {
  const o = report.options;
  const lines = [
    `**service: ${report.model}, one shared scorer behind node:http** (context ${o.contextSize}, batch ${o.batchSize}, ${o.maxSequences} sequences, ${o.threads} threads; ${report.texts.count} Brown paragraphs of ${Math.round(report.texts.meanBytes)} bytes on average, one per request; closed loop, ${report.secondsPerRun} s per run)`,
    '',
    '| callers | server | requests/s | × serial | p50 latency | p99 latency | calls per native call | server event-loop p99 | requests (median round) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.rows.map(
      (row) =>
        `| ${row.concurrency} | ${row.mode} | ${fixed(row.requestsPerSecond)} (${fixed(row.spread[0])}–${fixed(row.spread[1])}) | ${row.vsSerial === null ? '' : `${fixed(row.vsSerial, 2)}×`} | ${fixed(row.p50Ms, 0)} ms | ${fixed(row.p99Ms, 0)} ms | ${fixed(row.callsPerBatch, 2)} | ${fixed(row.eventLoopP99Ms, 0)} ms | ${row.requests} |`,
    ),
  ];
  const t = report.tokenize as {
    bytes: number;
    tokens: number;
    syncSeconds: number;
    asyncSeconds: number;
    asyncEventLoop: { p99: number; max: number };
  } | null;
  if (t) {
    lines.push(
      '',
      `- tokenize ${(t.bytes / 1e6).toFixed(1)} MB (${t.tokens.toLocaleString('en-US')} tokens): tokenizeSync blocks the event loop ${fixed(t.syncSeconds, 2)} s; ` +
        `await tokenize takes ${fixed(t.asyncSeconds, 2)} s off the main thread, the event loop's longest delay meanwhile ${fixed(t.asyncEventLoop.max, 0)} ms (p99 ${fixed(t.asyncEventLoop.p99, 0)} ms)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
