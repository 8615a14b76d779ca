// Push requests and timestamps as today's publishers and Pub/Sub produce them, for whatever replays
// messages at a locally served orchestrator (tests, the bench, the local stack).

let messageCounter = 0;

/** A Pub/Sub push request body, as the push subscription sends it. */
export function pushEnvelope(
  data: unknown,
  opts: { messageId?: string; subscription?: string; raw?: boolean; attributes?: Record<string, string> } = {},
): Record<string, unknown> {
  const encoded = opts.raw ? String(data) : Buffer.from(JSON.stringify(data)).toString("base64");
  return {
    message: {
      data: encoded,
      ...(opts.attributes ? { attributes: opts.attributes } : {}),
      messageId: opts.messageId ?? `m-${process.pid}-${++messageCounter}`,
      publishTime: new Date().toISOString(),
    },
    subscription: opts.subscription ?? "projects/demo-test/subscriptions/test-push",
  };
}

/** Today's Python-style timestamp: microseconds and an explicit +00:00 offset. */
export function pythonTimestamp(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1456+00:00");
}
