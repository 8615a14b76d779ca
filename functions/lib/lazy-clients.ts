// Clients created on first use. A cold instance answers its first request sooner when it does not
// load and build libraries that request may never need: the Pub/Sub client is needed only to publish
// a trigger (and for /health), so an orchestrator's recording completions never load it. The runtimes
// import these libraries with a dynamic import(), which the bundle evaluates only when it is reached.
import type { DependencyCheck } from "./health.ts";
import type { TriggerPublisher } from "./completion-tracker.ts";
import type { BigQueryStore } from "./bigquery-store.ts";

/**
 * `create` runs on the first call only; concurrent first calls share it. A failed creation is not
 * kept: its caller gets the error (the request fails and is retried like any dependency failure) and
 * the next call tries again.
 */
export function onFirstUse<T>(create: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= create().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** A trigger publisher whose client is created on the first publish. */
export function publisherOnFirstUse(create: () => Promise<TriggerPublisher>): TriggerPublisher {
  const get = onFirstUse(create);
  return { publish: async (topicName, payload, attributes) => (await get()).publish(topicName, payload, attributes) };
}

/** A health check whose client is created on the first check. */
export function checkOnFirstUse(create: () => Promise<DependencyCheck>): DependencyCheck {
  const get = onFirstUse(create);
  // Creating the client (loading its library) is the check's preparation, outside its time bound.
  return Object.assign(async (signal: AbortSignal) => (await get())(signal), { prepare: get });
}

/** A BigQuery store whose library and client are loaded on the first call. */
export function storeOnFirstUse(create: () => Promise<BigQueryStore>): BigQueryStore {
  const get = onFirstUse(create);
  return {
    insertCompletion: async (record) => (await get()).insertCompletion(record),
    upsertStatus: async (aggregate) => (await get()).upsertStatus(aggregate),
    insertExecutionLog: async (record) => (await get()).insertExecutionLog(record),
    listCompletions: async (query) => (await get()).listCompletions(query),
    checkDataset: async () => (await get()).checkDataset(),
  };
}
