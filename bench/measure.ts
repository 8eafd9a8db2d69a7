/**
 * Measurement helpers: interleaved rounds, medians, peak RSS (per measurement, not per process lifetime) and the
 * machine's description.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem, type } from 'node:os';

/** One repetition of one row. */
export interface Sample {
  /** Seconds of the timed part (see each row for what it covers). */
  seconds: number;
  tokensScored: number;
  tokensEvaluated: number;
  /** Peak resident set of the process that did the work, during this repetition, in bytes (null if unknown). */
  peakRssBytes: number | null;
  /** Row-specific extras (e.g. wall seconds including start-up, parsed tool output). */
  extra?: Record<string, unknown>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Runs `rounds` rounds; in each, every task once, in an order rotated by one each round (so no row always runs
 * right after the same neighbour or always first). Tasks run one at a time: nothing else of the benchmark uses the
 * CPU while one is timed.
 */
export async function interleave<T extends { id: string }>(
  tasks: readonly T[],
  rounds: number,
  run: (task: T, round: number) => Promise<void>,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const offset = tasks.length === 0 ? 0 : round % tasks.length;
    for (let i = 0; i < tasks.length; i++) await run(tasks[(i + offset) % tasks.length], round);
  }
}

// ---- peak RSS ----

/** Resets this process's peak RSS (VmHWM) to its current RSS (Linux: `echo 5 > /proc/self/clear_refs`). */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** This process's peak RSS in bytes: VmHWM since the last reset, else the lifetime maximum. */
export function peakRssBytes(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** GNU time, when installed: wraps a child command to report its peak RSS. */
export const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  peakRssBytes: number | null;
  /** Seconds from the moment `watch` first matched the output (stdout or stderr, as it streamed) to the exit. */
  watchedToExitSeconds: number | null;
}

/** Runs a command to completion (under GNU time for its peak RSS when available), capturing its output. */
export function runChild(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; rssFile: string; watch?: RegExp },
): Promise<ChildRun> {
  rmSync(options.rssFile, { force: true });
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', options.rssFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let watched: number | null = null;
    let exited: number | null = null;
    let tail = '';
    const look = (chunk: Buffer) => {
      if (watched !== null || !options.watch) return;
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      if (options.watch.test(tail)) watched = performance.now();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      look(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      look(chunk);
    });
    child.on('error', reject);
    child.on('exit', () => {
      exited = performance.now();
    });
    child.on('close', (code, signal) => {
      const ended = exited ?? performance.now();
      const wallSeconds = (ended - started) / 1000;
      let peak: number | null = null;
      if (GNU_TIME && existsSync(options.rssFile)) {
        const kb = Number(readFileSync(options.rssFile, 'utf8').trim().split('\n').pop());
        if (Number.isFinite(kb) && kb > 0) peak = kb * 1024;
      }
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        wallSeconds,
        peakRssBytes: peak,
        watchedToExitSeconds: watched === null ? null : (ended - watched) / 1000,
      });
    });
  });
}

// ---- the machine ----

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  /** Logical CPUs the OS reports, and what Node considers available to this process. */
  cpus: number;
  availableParallelism: number;
  cpuFlags: string[];
  memoryBytes: number;
  gpu: string;
  os: string;
  node: string;
  /** 1-minute load average when the benchmark started and ended (other work on a shared machine). */
  loadAverageStart: number;
  loadAverageEnd?: number;
}

function gpuDescription(): string {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    const lines = out.trim().split('\n').filter(Boolean);
    if (lines.length > 0) return lines.join('; ');
  } catch {
    // no NVIDIA driver
  }
  return 'none';
}

export function machineInfo(): MachineInfo {
  let flags: string[] = [];
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '';
    flags = line
      .split(/\s+/)
      .filter((flag) =>
        /^(avx|avx2|fma|f16c|avx512f|avx512bw|avx512_vnni|avx512_bf16|avx_vnni|amx_\w+|avx512_fp16)$/.test(flag),
      );
  } catch {
    // not Linux
  }
  return {
    hostname: hostname(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    cpuFlags: flags,
    memoryBytes: totalmem(),
    gpu: gpuDescription(),
    os: `${type()} ${release()}`,
    node: process.version,
    loadAverageStart: loadavg()[0],
  };
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return '-';
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  return `${Math.round(bytes / (1 << 20))} MiB`;
}
