/**
 * The pipeline's one concurrency primitive: map items through an async function with at most `concurrency` calls in
 * flight, yielding results in input order. It pulls the next item only when a slot is free, so a slow consumer
 * stops the producer: that is the backpressure that keeps memory bounded at every stage.
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  map: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const pending: Promise<R>[] = [];
  try {
    for await (const item of source) {
      const result = map(item);
      // Rejections are observed when their turn comes; this only keeps Node from calling them unhandled before that.
      result.catch(() => undefined);
      pending.push(result);
      if (pending.length >= concurrency) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    // On an early exit (error, abort, consumer stopped), wait for the calls in flight so none outlives the run.
    await Promise.allSettled(pending);
  }
}

/**
 * Reads ahead of the consumer up to `capacity` (in `weigh` units: items by default), so that the stage before keeps
 * working while the one after is busy (the worker pool tokenizes the next window while the engine scores this one).
 * Bounded: it stops pulling once the waiting items weigh `capacity` (one item is always let in, however heavy).
 */
export async function* prefetch<T>(
  source: AsyncIterable<T>,
  capacity: number,
  weigh: (item: T) => number = () => 1,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const buffer: { result: IteratorResult<T>; weight: number }[] = [];
  let weight = 0;
  let failure: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let stopped = false;
  const pump = (async () => {
    try {
      for (;;) {
        while (buffer.length > 0 && weight >= capacity && !stopped)
          await new Promise<void>((resolve) => (wakeProducer = resolve));
        if (stopped) return;
        const result = await iterator.next();
        const itemWeight = result.done ? 0 : weigh(result.value);
        buffer.push({ result, weight: itemWeight });
        weight += itemWeight;
        wakeConsumer?.();
        if (result.done) return;
      }
    } catch (error) {
      failure = { error };
      wakeConsumer?.();
    }
  })();
  try {
    for (;;) {
      while (buffer.length === 0 && !failure) await new Promise<void>((resolve) => (wakeConsumer = resolve));
      if (buffer.length === 0 && failure) throw failure.error;
      const next = buffer.shift()!;
      weight -= next.weight;
      wakeProducer?.();
      if (next.result.done) return;
      yield next.result.value;
    }
  } finally {
    stopped = true;
    wakeProducer?.();
    await pump;
    await iterator.return?.();
  }
}

/** The items of consecutive batches, one by one. */
export async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}
