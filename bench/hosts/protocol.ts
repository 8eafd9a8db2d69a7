/**
 * The long-lived host processes the benchmark measures in: each row's work runs in its own child process (forked
 * with structured-clone IPC), so every row's peak RSS is its own, and llama.cpp from node-llama-cpp's addon never
 * shares a process with infoprune's. A host loads its model once, then runs one repetition per `run` request
 * while the other hosts wait idle on their IPC channel (no CPU).
 */
import { type ChildProcess, fork } from 'node:child_process';

export interface HostRequest {
  id: number;
  type: string;
  [key: string]: unknown;
}

export interface HostReply {
  id: number;
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

/** Host side: serves requests with `handle` until `exit`. */
export function serve(handle: (request: HostRequest) => Promise<Record<string, unknown>>): void {
  if (!process.send) throw new Error('a benchmark host must be started by bench/main.js (IPC channel missing)');
  // The orchestrator went away (finished, crashed or interrupted): nothing more will be asked.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: HostRequest) => {
    if (message.type === 'exit') {
      process.disconnect?.();
      process.exit(0);
    }
    handle(message).then(
      (result) => process.send!({ id: message.id, ok: true, ...result } satisfies HostReply),
      (error: unknown) =>
        process.send!({
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies HostReply),
    );
  });
}

/** Orchestrator side: one host process. */
export class Host {
  #child: ChildProcess;
  #nextId = 1;
  #pending = new Map<number, { resolve: (reply: HostReply) => void; reject: (error: Error) => void }>();
  #stderr: string[] = [];
  readonly name: string;

  constructor(name: string, script: string, args: string[] = [], env?: NodeJS.ProcessEnv) {
    this.name = name;
    this.#child = fork(script, args, {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: env ?? process.env,
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr.push(chunk.toString('utf8'));
      if (this.#stderr.length > 200) this.#stderr.splice(0, 100);
    });
    this.#child.on('message', (reply: HostReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply);
      else pending.reject(new Error(`${this.name} host: ${reply.error}`));
    });
    this.#child.on('exit', (code, signal) => {
      const error = new Error(
        `${this.name} host exited (code ${code}, signal ${signal}): ${this.#stderr.join('').slice(-2000)}`,
      );
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
  }

  request<T extends Record<string, unknown>>(
    type: string,
    payload: Record<string, unknown> = {},
  ): Promise<HostReply & T> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (reply: HostReply) => void, reject });
      this.#child.send({ id, type, ...payload });
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    try {
      this.#child.send({ id: 0, type: 'exit' });
    } catch {
      this.#child.kill();
    }
    const timer = setTimeout(() => this.#child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
