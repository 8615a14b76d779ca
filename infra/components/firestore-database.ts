// The project's `(default)` Firestore database in Native mode, which the functions' Firestore client
// uses. A fresh project has none, and a function's first write would fail with NOT_FOUND.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";

type Kinds = { database: gcp.firestore.DatabaseArgs };

export interface FirestoreDatabaseArgs extends ComponentArgs<Kinds> {
  project: string;
  /** A Firestore location: a region (us-west2) or a multi-region (nam5, eur3). */
  location: string;
  /** On in prod: the database refuses deletion, and Pulumi only forgets it on destroy. */
  deletionProtection: boolean;
}

export const DEFAULT_DATABASE = "(default)";

export class FirestoreDatabase extends Component<Kinds> {
  readonly database: gcp.firestore.Database;

  constructor(name: string, args: FirestoreDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("FirestoreDatabase", name, args.transform, opts);
    this.database = this.child("database", gcp.firestore.Database, "default", {
      project: args.project,
      name: DEFAULT_DATABASE,
      type: "FIRESTORE_NATIVE",
      locationId: args.location,
      appEngineIntegrationMode: "DISABLED",
      deleteProtectionState: args.deletionProtection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED",
      // Protected: a destroy leaves the data alone (ABANDON). Otherwise a destroy really deletes
      // it, so a torn-down dev stack leaves nothing behind.
      deletionPolicy: args.deletionProtection ? "ABANDON" : "DELETE",
    });
    this.registerOutputs({ database: this.database.name });
  }
}
