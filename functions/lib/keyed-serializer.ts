// Runs async work one at a time per key inside this instance. Transactions on one Firestore
// document from one instance would otherwise abort each other (contention the client resolves only
// by backing off a second or more); queued here, each commits at the first try.
export type KeyedSerializer = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export function createKeyedSerializer(): KeyedSerializer {
  const tails = new Map<string, Promise<void>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    // The queue only needs to know when this run settled; its outcome goes to the caller via `result`.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
