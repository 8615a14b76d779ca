// The BigQuery fake's public surface (see server.ts for the endpoints it implements).
export {
  type BigQueryFake,
  type BigQueryFakeOptions,
  concurrentUpdateMessage,
  DEFAULT_BEHAVIOUR,
  dmlQueueFullMessage,
  type FakeBehaviour,
  type FaultMethod,
  type FaultSpec,
  type RequestLogEntry,
  startBigQueryFake,
} from "./server.ts";
export { type DmlLimits, REALISTIC_DML_LIMITS } from "./dml-scheduler.ts";
export { provisionOrchestrationTables, tableCreateOptions } from "./provision.ts";
export { parseMerge, parseStatement, SqlError } from "./sql.ts";
