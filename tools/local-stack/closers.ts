// Everything the local stack starts is registered here; close() stops it all in reverse order, trying
// every closer even when one fails, and then reports every failure at once.
export interface Closers {
  push(closer: () => Promise<unknown>): void;
  close(): Promise<void>;
}

export function createClosers(): Closers {
  const closers: (() => Promise<unknown>)[] = [];
  return {
    push: (closer) => void closers.push(closer),
    async close() {
      const errors: unknown[] = [];
      for (const c of closers.splice(0).reverse()) {
        try {
          await c();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, `local stack cleanup: ${errors.map(String).join("; ")}`);
    },
  };
}
