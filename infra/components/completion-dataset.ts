// The BigQuery dataset of completion tracking and its tables, declared from the one schema
// definition in functions/core/tables.ts (the runtime builds its rows from the same definitions).
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { ORCHESTRATION_TABLES, toBigQuerySchemaJson } from "../../functions/core/tables.ts";
import type { TableDefinition } from "../../functions/core/tables.ts";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";

type Kinds = { dataset: gcp.bigquery.DatasetArgs; table: gcp.bigquery.TableArgs };

export interface CompletionDatasetArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  datasetId: string;
  location: string;
  /** On in prod: tables refuse deletion and the dataset is a protected resource. */
  deletionProtection: boolean;
  tables?: readonly TableDefinition[];
}

export class CompletionDataset extends Component<Kinds> {
  readonly dataset: gcp.bigquery.Dataset;
  readonly tables: ReadonlyMap<string, gcp.bigquery.Table>;

  constructor(name: string, args: CompletionDatasetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("CompletionDataset", name, args.transform, opts);
    this.dataset = this.child(
      "dataset",
      gcp.bigquery.Dataset,
      "dataset",
      {
        datasetId: args.datasetId,
        location: args.location,
        description: "Phase completion tracking: every completion, the per-phase aggregate, every trigger.",
        labels: args.naming.labels(),
        deleteContentsOnDestroy: false,
      },
      { protect: args.deletionProtection },
    );
    const tables = new Map<string, gcp.bigquery.Table>();
    for (const def of args.tables ?? ORCHESTRATION_TABLES) {
      tables.set(
        def.name,
        this.child("table", gcp.bigquery.Table, def.name, {
          datasetId: this.dataset.datasetId,
          tableId: def.name,
          description: def.description,
          schema: toBigQuerySchemaJson(def),
          timePartitioning: {
            type: def.timePartitioning.type,
            field: def.timePartitioning.field,
            ...(def.timePartitioning.expirationMs === undefined ? {} : { expirationMs: def.timePartitioning.expirationMs }),
          },
          clusterings: [...def.clustering],
          deletionProtection: args.deletionProtection,
          labels: args.naming.labels(),
        }),
      );
    }
    this.tables = tables;
    this.registerOutputs({ datasetId: this.dataset.datasetId, tables: [...tables.keys()] });
  }
}
