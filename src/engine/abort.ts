/**
 * Cancellation for the engine's calls: the AbortError every call rejects with (shaped like Node's own: `name`
 * `AbortError`, `code` `ABORT_ERR`), and the set of calls in flight that closing a scorer or tokenizer settles.
 */

/** An AbortError, with the signal's reason (when there is one) as its cause. */
export function abortError(message = 'The operation was aborted', reason?: unknown): Error {
  const error = new Error(message, reason === undefined ? undefined : { cause: reason });
  error.name = 'AbortError';
  (error as Error & { code: string }).code = 'ABORT_ERR';
  return error;
}

/** Per signal: the engine's callbacks waiting on it, and the one listener the engine adds to it. */
const waitersBySignal = new WeakMap<AbortSignal, { callbacks: Set<() => void>; fire: () => void }>();

/**
 * Calls `callback` once when `signal` aborts; returns the function that stops waiting. However many calls wait on
 * one signal, the engine adds a single listener to it: Node warns of a leak past 10 listeners on one signal (a
 * pipeline has many calls in flight with the same one), and the caller's signal is not ours to reconfigure.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let waiters = waitersBySignal.get(signal);
  if (waiters === undefined) {
    const callbacks = new Set<() => void>();
    const fire = () => {
      waitersBySignal.delete(signal);
      for (const waiting of [...callbacks]) waiting();
    };
    waiters = { callbacks, fire };
    waitersBySignal.set(signal, waiters);
    signal.addEventListener('abort', fire, { once: true });
  }
  const current = waiters;
  current.callbacks.add(callback);
  return () => {
    current.callbacks.delete(callback);
    if (current.callbacks.size === 0 && waitersBySignal.get(signal) === current) {
      waitersBySignal.delete(signal);
      signal.removeEventListener('abort', current.fire);
    }
  };
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
      const stopWaiting = signal ? onAbort(signal, () => stop(abortError(undefined, signal.reason))) : () => {};
      const finish = () => {
        stopWaiting();
        this.#stops.delete(stop);
      };
      const stop = (error: Error) => {
        finish();
        reject(error);
      };
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
