/** Ctrl-C and SIGTERM as abort signals for a command's run: one place for the listeners and their removal. */

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface SignalAbort {
  /** Aborted by the first SIGINT or SIGTERM (two stages: by the second). */
  readonly signal: AbortSignal;
  /** Removes the listeners; call it in `finally`. */
  dispose(): void;
}

/**
 * The first SIGINT or SIGTERM aborts `signal`. Each listener goes once it fires, so a second Ctrl-C meets Node's
 * default and ends the process at once (for a run that would not stop).
 */
export function abortOnSignals(): SignalAbort {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  for (const name of STOP_SIGNALS) process.once(name, onSignal);
  return { signal: controller.signal, dispose: () => removeListeners(onSignal) };
}

/**
 * Two stages (infoprune score): the first SIGINT or SIGTERM calls `onStop` and aborts `stop` (finish at the next
 * checkpoint); any later one aborts `signal` (stop at once). The listeners stay until `dispose`, so no Ctrl-C kills the
 * process before its partial output is left resumable.
 */
export function stopThenAbortOnSignals(
  onStop: (signal: NodeJS.Signals) => void,
): SignalAbort & { readonly stop: AbortSignal } {
  const stop = new AbortController();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      onStop(signal);
      stop.abort();
    } else abort.abort();
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return { stop: stop.signal, signal: abort.signal, dispose: () => removeListeners(onSignal) };
}

function removeListeners(listener: (signal: NodeJS.Signals) => void): void {
  for (const name of STOP_SIGNALS) process.off(name, listener);
}
