/**
 * Ctrl-C / SIGTERM in the CLI (src/cli/signals.ts): train, prune and experiment abort on the first and leave a second
 * to Node (the process ends); score stops at a checkpoint on the first and aborts on the second. The listeners are
 * called directly rather than through process.emit, which would also reach the test runner's own.
 */
import { describe, expect, it } from 'vitest';
import { abortOnSignals, stopThenAbortOnSignals } from '../src/cli/signals.js';

const NAMES = ['SIGINT', 'SIGTERM'] as const;
type Listener = (signal: NodeJS.Signals) => void;

/** Runs `open`, and returns what it made and a way to deliver a signal to the listeners it added (and only those). */
function withSignals<T>(open: () => T): { made: T; send: (name: NodeJS.Signals) => void; counts: () => number[] } {
  const before = new Map(NAMES.map((name) => [name, process.rawListeners(name)]));
  const made = open();
  const added = (name: (typeof NAMES)[number]) =>
    process.rawListeners(name).filter((listener) => !before.get(name)?.includes(listener)) as Listener[];
  return {
    made,
    send: (name) => {
      for (const listener of added(name as (typeof NAMES)[number])) listener(name);
    },
    counts: () => NAMES.map((name) => added(name).length),
  };
}

describe('CLI signals', () => {
  it.each(NAMES)(
    'abortOnSignals: the first %s aborts and its listener goes, so a second meets Node’s default',
    (name) => {
      const { made, send, counts } = withSignals(abortOnSignals);
      expect(counts()).toEqual([1, 1]);
      expect(made.signal.aborted).toBe(false);
      send(name);
      expect(made.signal.aborted).toBe(true);
      expect(counts()).toEqual(NAMES.map((other) => (other === name ? 0 : 1)));
      made.dispose();
      expect(counts()).toEqual([0, 0]);
    },
  );

  it('stopThenAbortOnSignals: the first signal stops (with a notice), the second aborts, dispose removes both', () => {
    const notices: string[] = [];
    const { made, send, counts } = withSignals(() => stopThenAbortOnSignals((signal) => notices.push(signal)));
    send('SIGTERM');
    expect([made.stop.aborted, made.signal.aborted, notices]).toEqual([true, false, ['SIGTERM']]);
    send('SIGINT');
    expect([made.stop.aborted, made.signal.aborted, notices]).toEqual([true, true, ['SIGTERM']]);
    expect(counts()).toEqual([1, 1]);
    made.dispose();
    expect(counts()).toEqual([0, 0]);
  });
});
