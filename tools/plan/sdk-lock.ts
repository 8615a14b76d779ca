// One evaluation of the Pulumi program at a time, in the whole process. The SDK's runtime settings,
// config and mock monitor are process-global: the plan (evaluate.ts) and the policy capture
// (policy-capture.ts) both install their own, so they must wait for each other, not only for
// themselves.

let tail: Promise<unknown> = Promise.resolve();

/** Runs `task` once every task queued before it has settled; a failed task does not block the next. */
export function withPulumiRuntime<T>(task: () => Promise<T>): Promise<T> {
  const run = tail.then(task);
  tail = run.catch(() => undefined);
  return run;
}
