// Firestore TTL policies: one per collection group the functions write, on the timestamp field the
// runtime sets on every document (expire_at, functions/core/retention.ts), so nothing they write
// grows forever. How long a document lives is in that timestamp (the stack's retention config),
// not here. The field is also exempted from single-field indexes: nothing queries it, and an index
// on ever-increasing timestamps is a write hotspot.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { EXPIRE_AT_FIELD } from "../../functions/core/retention.ts";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";

type Kinds = { field: gcp.firestore.FieldArgs };

export interface FirestoreTtlArgs extends ComponentArgs<Kinds> {
  project: pulumi.Input<string>;
  /** Collection groups (full names, with the environment's prefix) whose documents carry expire_at. */
  collections: readonly string[];
  /**
   * The database the policies belong to. When given, every policy is declared on it and waits for
   * it (and so for the Firestore API it waits for); else the project's "(default)" database.
   */
  database?: gcp.firestore.Database;
}

export class FirestoreTtl extends Component<Kinds> {
  /** Collection group -> its TTL field. */
  readonly fields: ReadonlyMap<string, gcp.firestore.Field>;

  constructor(name: string, args: FirestoreTtlArgs, opts?: pulumi.ComponentResourceOptions) {
    super("FirestoreTtl", name, args.transform, opts);
    const duplicates = args.collections.filter((c, i) => args.collections.indexOf(c) !== i);
    if (duplicates.length > 0) throw new Error(`FirestoreTtl: collection(s) listed twice: ${duplicates.join(", ")}`);
    const fields = new Map<string, gcp.firestore.Field>();
    for (const collection of args.collections) {
      fields.set(
        collection,
        this.child(
          "field",
          gcp.firestore.Field,
          collection,
          {
            project: args.project,
            ...(args.database === undefined ? {} : { database: args.database.name }),
            collection,
            field: EXPIRE_AT_FIELD,
            // Empty: expire at the field's own time, no offset.
            ttlConfig: {},
            indexConfig: {},
          },
          args.database === undefined ? {} : { dependsOn: [args.database] },
        ),
      );
    }
    this.fields = fields;
    this.registerOutputs({ collections: [...fields.keys()] });
  }
}
