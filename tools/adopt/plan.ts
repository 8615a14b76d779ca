// The adoption plan of a stack: which declared resources already exist under the same physical name
// (and are imported, so the first `pulumi up` updates them instead of failing with 409 on a create),
// and which existing ones cannot be adopted and must be replaced. Pure: takes the declared resources
// (as `evaluateStack` records them) and the existing system, returns the `pulumi import --file`
// document and the facts the report prints.
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";
import type { ExistingFunction, ExistingSystem } from "./existing.ts";
import { ancestorsOf, ROOT_STACK_TYPE, type Declared } from "./urn.ts";

/** The resource types adoption looks at, by name (functions/core/resource-types.ts). */
export const TYPES = RESOURCE_TYPES;

/** Types that hold data: always imported, never replaced (a replace would delete the data). */
export const DATA_HOLDING_TYPES: readonly string[] = [TYPES.topic, TYPES.dataset, TYPES.table, TYPES.firestoreDatabase];

export interface DeclaredInput extends Declared {
  inputs: Record<string, unknown>;
  custom: boolean;
}

/** One entry of the `pulumi import --file` document (pulumi/pulumi pkg/cmd/pulumi/import.go importSpec). */
export interface ImportEntry {
  type: string;
  /** The entry's key in this file (parents refer to it). */
  name: string;
  /** The resource's Pulumi name (the program's logical name). */
  logicalName: string;
  /** The cloud id in the form the provider's import reads; absent for components. */
  id?: string;
  /** `name` of the parent entry in this file (absent: the stack itself). */
  parent?: string;
  /** An empty component created as a parent of the imported resources. */
  component?: true;
}

export interface ImportDocument {
  nameTable: Record<string, string>;
  resources: ImportEntry[];
}

export interface Imported {
  type: string;
  logicalName: string;
  physicalName: string;
  id: string;
  dataHolding: boolean;
}

export interface Replacement {
  what: string;
  name: string;
  /** Our declared resource that takes its place, if any. */
  replacedBy: string;
  reason: string;
  /** What it means for the pipeline and when to do it. */
  impact: string;
}

export interface AdoptPlan {
  stack: string;
  document: ImportDocument;
  imported: Imported[];
  replaced: Replacement[];
  /** Existing names the program does not declare (e.g. old functions while ours run under shadow names). */
  leftAlone: { what: string; name: string; note: string }[];
}

export interface AdoptContext {
  stack: string;
  /** The project's default GCP project (gcp:project) for resources that do not name one. */
  project: string;
  /** The default region (gcp:region). */
  region: string;
  pipeline: Pipeline;
  existing: ExistingSystem;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

interface Match {
  physicalName: string;
  id: string;
}

/** The physical name and provider import id of a declared resource the existing system holds, else undefined. */
function existingMatch(r: DeclaredInput, ctx: AdoptContext): Match | undefined {
  const project = str(r.inputs.project) ?? ctx.project;
  switch (r.type) {
    case TYPES.topic: {
      const name = str(r.inputs.name);
      // pubsub/topic.d.ts: projects/{{project}}/topics/{{name}}
      return name !== undefined && ctx.existing.topics.includes(name) ? { physicalName: name, id: `projects/${project}/topics/${name}` } : undefined;
    }
    case TYPES.dataset: {
      const id = str(r.inputs.datasetId);
      // bigquery/dataset.d.ts: projects/{{project}}/datasets/{{dataset_id}}
      return id !== undefined && id === ctx.existing.datasetId ? { physicalName: id, id: `projects/${project}/datasets/${id}` } : undefined;
    }
    case TYPES.table: {
      const dataset = str(r.inputs.datasetId);
      const table = str(r.inputs.tableId);
      if (dataset === undefined || table === undefined || dataset !== ctx.existing.datasetId || !ctx.existing.tables.includes(table)) return undefined;
      // The provider's table id (the form bigquery/iamBinding.d.ts names a table by).
      return { physicalName: `${dataset}.${table}`, id: `projects/${project}/datasets/${dataset}/tables/${table}` };
    }
    case TYPES.firestoreDatabase: {
      const name = str(r.inputs.name) ?? "(default)";
      // firestore/database.d.ts: projects/{{project}}/databases/{{name}}
      return ctx.existing.firestoreDatabases.includes(name) ? { physicalName: name, id: `projects/${project}/databases/${name}` } : undefined;
    }
    case TYPES.function: {
      const name = str(r.inputs.name);
      const location = str(r.inputs.location) ?? ctx.region;
      // cloudfunctionsv2/function.d.ts: projects/{{project}}/locations/{{location}}/functions/{{name}}
      return name !== undefined && ctx.existing.functions.some((f) => f.name === name)
        ? { physicalName: name, id: `projects/${project}/locations/${location}/functions/${name}` }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** Why an existing function under our name cannot be adopted, or undefined when it can. */
function functionReplaceReason(old: ExistingFunction): string | undefined {
  if (old.generation === 1) {
    return "a 1st gen function cannot become a 2nd gen function: Cloud Functions has no in-place upgrade, the old one must be deleted (or ours deployed under another name)";
  }
  if (old.trigger === "event") {
    return "the old function is event-triggered (an Eventarc Pub/Sub trigger); ours is an HTTP function behind an explicit push subscription, and a changed event trigger forces a new function";
  }
  return undefined;
}

export function planAdoption(resources: readonly DeclaredInput[], ctx: AdoptContext): AdoptPlan {
  const byId = new Map<string, DeclaredInput>();
  for (const r of resources) if (r.urn !== undefined) byId.set(r.urn, r);

  const imported: Imported[] = [];
  const replaced: Replacement[] = [];
  const entries: ImportEntry[] = [];
  const entryNameOf = new Map<string, string>();
  const usedNames = new Set<string>();
  const uniqueName = (logical: string): string => {
    let name = logical;
    for (let i = 2; usedNames.has(name); i++) name = `${logical}~${i}`;
    usedNames.add(name);
    return name;
  };

  /** Adds the component entries of r's ancestors (once each) and returns the nearest one's entry name. */
  const parentEntry = (r: DeclaredInput): string | undefined => {
    let parentName: string | undefined;
    for (const a of ancestorsOf(r, byId)) {
      const key = a.urn!;
      let name = entryNameOf.get(key);
      if (name === undefined) {
        const declared = byId.get(key)!;
        if (declared.custom) {
          throw new Error(`${r.type} ${r.name}: its parent ${a.type} ${a.name} is a custom resource that is not imported; cannot place it`);
        }
        name = uniqueName(a.name);
        entryNameOf.set(key, name);
        entries.push({ type: a.type, name, logicalName: a.name, component: true, ...(parentName !== undefined ? { parent: parentName } : {}) });
      }
      parentName = name;
    }
    return parentName;
  };

  const declaredFunctions = new Set<string>();
  for (const r of resources) {
    if (!r.custom || r.type === ROOT_STACK_TYPE) continue;
    if (r.type === TYPES.function && str(r.inputs.name) !== undefined) declaredFunctions.add(str(r.inputs.name)!);
    const match = existingMatch(r, ctx);
    if (match === undefined) continue;
    if (r.type === TYPES.function) {
      const old = ctx.existing.functions.find((f) => f.name === match.physicalName)!;
      const reason = functionReplaceReason(old);
      if (reason !== undefined) {
        replaced.push({
          what: `function (${old.generation === 1 ? "1st" : "2nd"} gen, ${old.trigger} trigger)`,
          name: match.physicalName,
          replacedBy: r.name,
          reason,
          impact:
            "while the old function holds the name, creating ours fails (409): delete the old function (and its trigger) in the switch step; " +
            "until then run this stack with triggerMode: shadow, which deploys ours under '<name>-shadow' beside the old one",
        });
        continue;
      }
    }
    const name = uniqueName(r.name);
    entryNameOf.set(r.urn ?? name, name);
    const parent = parentEntry(r);
    entries.push({ type: r.type, name, logicalName: r.name, id: match.id, ...(parent !== undefined ? { parent } : {}) });
    imported.push({ type: r.type, logicalName: r.name, physicalName: match.physicalName, id: match.id, dataHolding: DATA_HOLDING_TYPES.includes(r.type) });
  }

  // The old functions' Eventarc subscriptions on the input topics: not ours to import (Eventarc owns
  // them and deletes them with the trigger); our explicit push subscriptions take their place.
  for (const t of ctx.pipeline.transitions) {
    const old = ctx.existing.functions.find((f) => f.name === t.functionName);
    if (old === undefined || old.trigger !== "event" || !ctx.existing.topics.includes(t.inputTopicName)) continue;
    const push = resources.find((r) => r.type === TYPES.subscription && str(r.inputs.name) === `${t.inputTopicName}-push-sub`);
    replaced.push({
      what: old.generation === 1 ? "Pub/Sub trigger subscription of a 1st gen function" : "Eventarc-managed subscription",
      name: `${t.inputTopicName} -> ${t.functionName}`,
      replacedBy: push?.name ?? `${t.inputTopicName}-push-sub`,
      reason: "the old function's trigger owns it (created and deleted with the trigger); ours is an explicit push subscription with a retry policy and a dead-letter topic",
      impact:
        "while both exist every completion on the topic reaches both orchestrators (each subscription gets its own copy, nothing is taken from the other); " +
        "in shadow mode ours publishes only to shadow topics, so downstream sees one trigger. Deleting the old trigger at the switch removes it; " +
        "completions published after are delivered by our push subscription only, which keeps unacknowledged messages",
    });
  }

  const leftAlone = ctx.existing.functions
    .filter((f) => !declaredFunctions.has(f.name))
    .map((f) => ({
      what: "function",
      name: f.name,
      note: "not declared under this name by this stack (ours run under other names): it keeps running until it is deleted in the switch step",
    }));

  return { stack: ctx.stack, document: { nameTable: {}, resources: entries }, imported, replaced, leftAlone };
}
