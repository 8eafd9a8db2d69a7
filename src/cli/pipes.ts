/**
 * `-` on the command line: standard input as an input (spooled once, src/corpus/stdin.ts), standard output as
 * `score`'s `--out`. A run writing to standard output keeps its files in a temporary folder and copies the score
 * records out when it completes (every record once, in input order; nothing is written for a run that fails), then
 * removes them: such a run cannot be resumed, and its errors are summarised on stderr.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { STDIN_ARGUMENT, spoolStdin } from '../corpus/stdin.js';
import { InvalidOptionError } from '../errors.js';

/** `--out -`: standard output. */
export const STDOUT_ARGUMENT = '-';

/** Spools standard input when an input is `-`, before anything lists the inputs. */
export async function prepareStdin(inputs: readonly string[]): Promise<void> {
  if (inputs.includes(STDIN_ARGUMENT)) await spoolStdin();
}

export interface StdoutTarget {
  /** The score file the run writes (in the temporary folder). */
  out: string;
  /** The score records onto standard output. */
  copyOut(): Promise<void>;
  /** Up to `limit` lines of the run's errors file (what could not be scored), for stderr. */
  errorLines(limit: number): string[];
  remove(): void;
}

/** `--out -`: where the run writes instead, and how its records reach standard output. */
export function stdoutTarget(flags: Record<string, unknown>): StdoutTarget {
  for (const flag of ['resume', 'shard'] as const) {
    if (flags[flag] !== undefined && flags[flag] !== false) {
      throw new InvalidOptionError(
        flag,
        (name) => `${name(flag)} cannot be used with ${name('out')} - (standard output): write to a file instead`,
      );
    }
  }
  return temporaryStdout('scores.jsonl');
}

/** A file named `name` in a temporary folder, copied to standard output when complete. */
export function temporaryStdout(name: string): StdoutTarget {
  const folder = mkdtempSync(join(tmpdir(), 'infoprune-out-'));
  const out = join(folder, name);
  return {
    out,
    copyOut: () => copyToStdout(out),
    errorLines: (limit) => {
      try {
        return readFileSync(`${out}.errors.jsonl`, 'utf8').split('\n').filter(Boolean).slice(0, limit);
      } catch {
        return [];
      }
    },
    remove: () => rmSync(folder, { recursive: true, force: true }),
  };
}

/** A file onto standard output; a reader that stops early (`| head`) ends the copy quietly. */
async function copyToStdout(path: string): Promise<void> {
  try {
    await pipeline(createReadStream(path), process.stdout, { end: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
  }
}
