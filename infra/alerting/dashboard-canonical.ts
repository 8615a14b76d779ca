// What the Monitoring API stores for a dashboard, so the program can declare exactly that and the
// daily drift run (pulumi preview --refresh) sees no difference. Pure.
//
// The API hands back a dashboard that differs from the JSON it was given (terraform-provider-google
// #7242, #16173; console exports, which are the API's JSON, show the same fields):
// - it adds `name` and `etag` (server-assigned; the provider drops both before comparing);
// - it omits zero-valued tile positions (`xPos: 0`, `yPos: 0`);
// - every xyChart gets `chartOptions: {mode: "COLOR"}` and `thresholds: []`; every data set
//   `breakdowns: []`, `dimensions: []`, `measures: []`, `targetAxis: "Y1"` and a `minAlignmentPeriod`;
//   every aggregation `groupByFields: []`;
// - the provider keeps the JSON with its keys sorted.
// Fields absent from the declared JSON are ignored by the provider's diff; a declared value that the
// API rewrites or drops is a permanent diff. So the program declares every one of those defaults
// itself (an explicit value is stored as given) and never a zero tile position.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields the API assigns to a stored dashboard (the provider strips them before diffing). */
export const SERVER_ASSIGNED_FIELDS = ["name", "etag"] as const;

function withDefaults(target: JsonObject, defaults: JsonObject): void {
  for (const [k, v] of Object.entries(defaults)) if (!(k in target)) target[k] = v;
}

function normaliseAggregation(aggregation: Json | undefined): void {
  if (isObject(aggregation)) withDefaults(aggregation, { groupByFields: [] });
}

function normaliseQuery(query: Json | undefined): void {
  if (!isObject(query)) return;
  if (isObject(query.timeSeriesFilter)) normaliseAggregation(query.timeSeriesFilter.aggregation);
  if (isObject(query.timeSeriesFilterRatio)) {
    for (const side of ["numerator", "denominator"]) {
      const s = query.timeSeriesFilterRatio[side];
      if (isObject(s)) normaliseAggregation(s.aggregation);
    }
  }
}

function alignmentPeriodOf(query: Json | undefined): string {
  if (isObject(query) && isObject(query.timeSeriesFilter) && isObject(query.timeSeriesFilter.aggregation)) {
    const p = query.timeSeriesFilter.aggregation.alignmentPeriod;
    if (typeof p === "string") return p;
  }
  return "60s";
}

function normaliseWidget(widget: Json | undefined): void {
  if (!isObject(widget) || !isObject(widget.xyChart)) return;
  const chart = widget.xyChart;
  withDefaults(chart, { chartOptions: { mode: "COLOR" }, thresholds: [] });
  if (!Array.isArray(chart.dataSets)) return;
  for (const ds of chart.dataSets) {
    if (!isObject(ds)) continue;
    withDefaults(ds, { breakdowns: [], dimensions: [], measures: [], targetAxis: "Y1", minAlignmentPeriod: alignmentPeriodOf(ds.timeSeriesQuery) });
    normaliseQuery(ds.timeSeriesQuery);
  }
}

/** The dashboard as the API stores it, without the server-assigned fields. */
export function storedDashboard(dashboard: JsonObject): JsonObject {
  const copy = JSON.parse(JSON.stringify(dashboard)) as JsonObject;
  for (const f of SERVER_ASSIGNED_FIELDS) delete copy[f];
  const layout = copy.mosaicLayout;
  if (isObject(layout) && Array.isArray(layout.tiles)) {
    for (const tile of layout.tiles) {
      if (!isObject(tile)) continue;
      for (const pos of ["xPos", "yPos"]) if (tile[pos] === 0) delete tile[pos];
      normaliseWidget(tile.widget);
    }
  }
  return copy;
}

/** JSON text with every object's keys sorted (the form the provider keeps). */
export function canonicalJson(value: Json): string {
  const sort = (v: Json): Json =>
    Array.isArray(v) ? v.map(sort) : isObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k]!)])) : v;
  return JSON.stringify(sort(value));
}

export type { Json, JsonObject };
