// Provisions the declared Pub/Sub topics and subscriptions on the emulator and the declared BigQuery
// dataset and tables in the fake, exactly as declared, and reads the subscriptions back to prove the
// emulator holds what the program declares (ack deadline, backoff, dead-letter policy, endpoint).
import type { BigQuery } from "@google-cloud/bigquery";
import type { PubSub } from "@google-cloud/pubsub";
import type { LocalPlan, LocalSubscription, LocalTable } from "./declared.ts";

/** The Pub/Sub API body of a declared subscription, its push endpoint rewritten to a local URL. */
export function subscriptionRequest(project: string, s: LocalSubscription, endpointOf: (fn: string) => string): Record<string, unknown> {
  return {
    ...(s.ackDeadlineSeconds === undefined ? {} : { ackDeadlineSeconds: s.ackDeadlineSeconds }),
    ...(s.messageRetentionSeconds === undefined ? {} : { messageRetentionDuration: { seconds: s.messageRetentionSeconds, nanos: 0 } }),
    ...(s.retainAckedMessages === undefined ? {} : { retainAckedMessages: s.retainAckedMessages }),
    // No oidcToken: the emulator does not mint tokens and nothing verifies them locally.
    ...(s.pushTo === undefined ? {} : { pushConfig: { pushEndpoint: endpointOf(s.pushTo) } }),
    ...(s.retry === undefined
      ? {}
      : { retryPolicy: { minimumBackoff: { seconds: s.retry.minimumBackoffSeconds, nanos: 0 }, maximumBackoff: { seconds: s.retry.maximumBackoffSeconds, nanos: 0 } } }),
    ...(s.deadLetter === undefined
      ? {}
      : { deadLetterPolicy: { deadLetterTopic: `projects/${project}/topics/${s.deadLetter.topic}`, maxDeliveryAttempts: s.deadLetter.maxDeliveryAttempts } }),
  };
}

const seconds = (d: unknown): number | undefined => {
  if (d === null || d === undefined) return undefined;
  const v = (d as { seconds?: unknown }).seconds;
  return v === undefined || v === null ? undefined : Number(v);
};

/** Differences between what was declared and what the emulator reports. */
export function subscriptionDrift(project: string, s: LocalSubscription, endpoint: string | undefined, actual: Record<string, unknown>): string[] {
  const out: string[] = [];
  const check = (what: string, want: unknown, got: unknown) => {
    if (want !== undefined && want !== got) out.push(`${s.name} ${what}: declared ${JSON.stringify(want)}, emulator has ${JSON.stringify(got)}`);
  };
  check("ackDeadlineSeconds", s.ackDeadlineSeconds, actual.ackDeadlineSeconds);
  check("topic", `projects/${project}/topics/${s.topic}`, actual.topic);
  check("pushEndpoint", endpoint, (actual.pushConfig as { pushEndpoint?: string } | undefined)?.pushEndpoint || undefined);
  const retry = actual.retryPolicy as { minimumBackoff?: unknown; maximumBackoff?: unknown } | null | undefined;
  check("retryPolicy.minimumBackoff", s.retry?.minimumBackoffSeconds, seconds(retry?.minimumBackoff));
  check("retryPolicy.maximumBackoff", s.retry?.maximumBackoffSeconds, seconds(retry?.maximumBackoff));
  const dlq = actual.deadLetterPolicy as { deadLetterTopic?: string; maxDeliveryAttempts?: number } | null | undefined;
  check("deadLetterPolicy.deadLetterTopic", s.deadLetter === undefined ? undefined : `projects/${project}/topics/${s.deadLetter.topic}`, dlq?.deadLetterTopic);
  check("deadLetterPolicy.maxDeliveryAttempts", s.deadLetter?.maxDeliveryAttempts, dlq?.maxDeliveryAttempts);
  return out;
}

export async function provisionPubSub(pubsub: PubSub, plan: LocalPlan, endpointOf: (fn: string) => string): Promise<void> {
  // Dead-letter topics are topics like any other; create all before any subscription refers to them.
  await Promise.all(plan.topics.map((t) => pubsub.createTopic(t.name)));
  const drift: string[] = [];
  for (const s of plan.subscriptions) {
    const request = subscriptionRequest(plan.project, s, endpointOf);
    await pubsub.topic(s.topic).createSubscription(s.name, request);
    const [metadata] = await pubsub.subscription(s.name).getMetadata();
    drift.push(...subscriptionDrift(plan.project, s, s.pushTo === undefined ? undefined : endpointOf(s.pushTo), metadata as Record<string, unknown>));
  }
  if (drift.length > 0) throw new Error(`the Pub/Sub emulator did not take the declared settings:\n  - ${drift.join("\n  - ")}`);
}

/** tables.insert options from a declared table (the schema JSON exactly as declared). */
export function tableOptions(t: LocalTable): Record<string, unknown> {
  return {
    ...(t.description === undefined ? {} : { description: t.description }),
    schema: { fields: JSON.parse(t.schema) as unknown[] },
    ...(t.timePartitioning === undefined
      ? {}
      : {
          timePartitioning: {
            type: t.timePartitioning.type,
            ...(t.timePartitioning.field === undefined ? {} : { field: t.timePartitioning.field }),
            ...(t.timePartitioning.expirationMs === undefined ? {} : { expirationMs: String(t.timePartitioning.expirationMs) }),
          },
        }),
    ...(t.clusterings.length === 0 ? {} : { clustering: { fields: t.clusterings } }),
  };
}

export async function provisionBigQuery(bigquery: BigQuery, plan: LocalPlan): Promise<void> {
  for (const d of plan.datasets) await bigquery.dataset(d.datasetId).create(d.location === undefined ? {} : { location: d.location });
  for (const t of plan.tables) await bigquery.dataset(t.datasetId).createTable(t.tableId, tableOptions(t));
}
