/**
 * Cancellation for the engine's calls: the AbortError every call rejects with (shaped like Node's own: `name`
 * `AbortError`, `code` `ABORT_ERR`), and the set of calls in flight that closing a scorer or tokenizer settles.
 */

import { setMaxListeners } from 'node:events';

/** An AbortError, with the signal's reason (when there is one) as its cause. */
export function abortError(message = 'The operation was aborted', reason?: unknown): Error {
  const error = new Error(message, reason === undefined ? undefined : { cause: reason });
  error.name = 'AbortError';
  (error as Error & { code: string }).code = 'ABORT_ERR';
  return error;
}

/**
 * A child of `signal` that `listeners` concurrent calls may each listen on, and `release()` to stop forwarding to it.
 * Why: Node warns of a leak past 10 listeners on one signal, and the caller's signal is not ours to reconfigure.
 */
export function childSignal(
  signal: AbortSignal | undefined,
  listeners: number,
): { signal: AbortSignal | undefined; release: () => void } {
  if (signal === undefined) return { signal: undefined, release: () => {} };
  const child = new AbortController();
  setMaxListeners(listeners + 1, child.signal);
  const forward = () => child.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  return { signal: child.signal, release: () => signal.removeEventListener('abort', forward) };
}

/** What a call still in flight rejects with when its scorer or tokenizer is closed. */
export function closedError(what: 'scorer' | 'tokenizer'): Error {
  return abortError(`The ${what} was closed while this call was in flight`);
}

/**
 * Native calls in flight that settle early: with an AbortError when their signal aborts or when `closeAll()` runs
 * (the native work itself ends on its own; it holds its own reference to the model, so freeing it meanwhile is safe).
 */
export class InFlight {
  readonly #stops = new Set<(error: Error) => void>();

  track<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(undefined, signal.reason));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => stop(abortError(undefined, signal?.reason));
      const finish = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#stops.delete(stop);
      };
      const stop = (error: Error) => {
        finish();
        reject(error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#stops.add(stop);
      work.then(
        (value) => {
          finish();
          resolve(value);
        },
        (error) => {
          finish();
          reject(error);
        },
      );
    });
  }

  /** Rejects every call still in flight with `error()`. */
  closeAll(error: () => Error): void {
    for (const stop of [...this.#stops]) stop(error());
  }
}
