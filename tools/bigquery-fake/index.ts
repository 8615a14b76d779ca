// The BigQuery fake's public surface (see server.ts for the endpoints it implements).
export { type BigQueryFake, concurrentUpdateMessage, type FaultMethod, type FaultSpec, type RequestLogEntry, startBigQueryFake } from "./server.ts";
export { provisionOrchestrationTables, tableCreateOptions } from "./provision.ts";
export { parseMerge, parseStatement, SqlError } from "./sql.ts";
