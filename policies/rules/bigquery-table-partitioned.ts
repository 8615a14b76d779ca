// Completion tables grow by a row per completion, forever: unpartitioned, every query and MERGE
// scans (and bills) all of history, and no partition expiry can ever apply.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";

export const bigqueryTablePartitioned: ResourceValidationPolicy = {
  name: "bigquery-table-partitioned",
  description: "Every BigQuery table is partitioned (time or integer-range partitioning).",
  remediationSteps: 'Set timePartitioning: { type: "DAY", field: "game_date" } (or rangePartitioning) on the table; functions/core/tables.ts declares the partitioning of each table.',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.table], (props, _args, report) => {
    // Views and materialized views are not partitioned storage.
    if (at(props, "view") !== undefined || at(props, "materializedView") !== undefined) return;
    const time = at(props, "timePartitioning");
    const range = at(props, "rangePartitioning");
    if (time === UNKNOWN || range === UNKNOWN) return;
    if ((time === undefined || time === null) && (range === undefined || range === null)) {
      report("table is not partitioned: every query scans its whole history");
      return;
    }
    if (time !== undefined && time !== null && stringAt(time, "type") === undefined) report("timePartitioning has no type (DAY, HOUR, MONTH or YEAR)");
    if (range !== undefined && range !== null && stringAt(range, "field") === undefined) report("rangePartitioning has no field");
  }),
};
