// Shared setup of the BigQuery tests: a fake per suite, the real client pointed at it, the
// orchestration tables provisioned from tables.ts, and sample records.
import type { BigQuery } from "@google-cloud/bigquery";
import { createBigQueryClient, type CompletionRecord, type StatusAggregate } from "../../functions/lib/bigquery-store.ts";
import { RETRY_PRESETS, type RetryPreset } from "../../functions/lib/retry.ts";
import { provisionOrchestrationTables } from "../../tools/bigquery-fake/provision.ts";
import { type BigQueryFake, startBigQueryFake } from "../../tools/bigquery-fake/server.ts";

export const PROJECT_ID = "demo-test";
export const DATASET_ID = "nba_orchestration";

/** The production presets with millisecond delays: same attempts, fast tests. */
export const FAST_RETRY: { insert: RetryPreset; merge: RetryPreset; read: RetryPreset } = {
  insert: { ...RETRY_PRESETS.bigqueryInsert, baseMs: 2, capMs: 10 },
  merge: { ...RETRY_PRESETS.bigqueryMerge, baseMs: 2, capMs: 10 },
  read: { ...RETRY_PRESETS.bigqueryMerge, baseMs: 2, capMs: 10 },
};

export interface FakeContext {
  fake: BigQueryFake;
  bigquery: BigQuery;
}

/** A fresh fake with the dataset and tables provisioned; requests of the provisioning cleared. */
export async function startProvisionedFake(): Promise<FakeContext> {
  const fake = await startBigQueryFake({ projectId: PROJECT_ID });
  const bigquery = createBigQueryClient({ projectId: PROJECT_ID, apiEndpoint: fake.url });
  await provisionOrchestrationTables(bigquery, DATASET_ID);
  fake.requests.length = 0;
  return { fake, bigquery };
}

/** Empties the fake and provisions again (between tests). */
export async function reprovision(ctx: FakeContext): Promise<void> {
  ctx.fake.reset();
  await provisionOrchestrationTables(ctx.bigquery, DATASET_ID);
  ctx.fake.requests.length = 0;
}

export function sampleCompletion(overrides: Partial<CompletionRecord> = {}): CompletionRecord {
  return {
    phase: "phase_3_analytics",
    transition_id: "phase3-to-phase4",
    game_date: "2026-01-15",
    mode: "overnight",
    processor_name: "player_game_summary",
    reported_name: "PlayerGameSummaryProcessor",
    status: "success",
    execution_id: "a1b2c3d4",
    correlation_id: "a1b2c3d4",
    completed_at: "2026-01-16T09:12:33.123456+00:00",
    recorded_at: "2026-01-16T09:12:34.000000+00:00",
    record_count: 412,
    records_failed: 0,
    duration_seconds: 12.5,
    message_id: "1234567890",
    metadata: { is_incremental: false, entities_changed: null },
    ...overrides,
  };
}

export function sampleAggregate(overrides: Partial<StatusAggregate> = {}): StatusAggregate {
  return {
    phase: "phase_3_analytics",
    transition_id: "phase3-to-phase4",
    game_date: "2026-01-15",
    mode: "overnight",
    expected_count: 5,
    complete_count: 1,
    complete_processors: ["player_game_summary"],
    triggered: false,
    trigger_id: null,
    trigger_reason: "waiting",
    updated_at: "2026-01-16T09:12:34.000000Z",
    ...overrides,
  };
}
