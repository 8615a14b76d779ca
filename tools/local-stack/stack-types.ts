// The local stack's interface: its options, what a started stack offers its callers, and the two
// errors a start-up fails with that the CLIs answer with their own exit code.
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import type { BigQuery } from "@google-cloud/bigquery";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import type { TriggerMode } from "../../functions/core/trigger-routing.ts";
import type { collectionNames } from "../../functions/lib/collections.ts";
import type { BigQueryFake } from "../bigquery-fake/index.ts";
import type { LocalPlan } from "./declared.ts";
import type { EmulatorHandle, TcpProxy } from "./emulators.ts";
import type { FrontProxy } from "./front-proxy.ts";
import type { ServedFunction } from "./function-host.ts";
import type { SlackSink } from "./slack-sink.ts";

export class PrerequisiteError extends Error {
  constructor(readonly problems: string[]) {
    super(`npm start needs the Google Cloud emulators, and this machine lacks:\n  - ${problems.join("\n  - ")}`);
    this.name = "PrerequisiteError";
  }
}

/** A function answered /health with something other than 200 at start-up: the run fails naming why. */
export class MisconfiguredFunctionError extends Error {
  constructor(readonly problems: string[]) {
    super(`declared functions are not healthy on the local stack:\n  - ${problems.join("\n  - ")}`);
    this.name = "MisconfiguredFunctionError";
  }
}

/** An instance's port is held by another process: starting it there would wire its URL to someone else. */
export class PortTakenError extends Error {
  constructor(functionName: string, port: number) {
    super(`function ${functionName}: port ${port} is taken by another process; not starting it there (its requests would reach that process)`);
    this.name = "PortTakenError";
  }
}

export interface LocalStackOptions {
  stack: string;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
  rootDir?: string;
  /** Instances of every function behind its front proxy (default 1). */
  instances?: number;
  /** Stack config keys set for this run only, as `pulumi config set` would (e.g. triggerMode: shadow). */
  config?: Readonly<Record<string, string>>;
}

export interface LocalStack {
  readonly plan: LocalPlan;
  readonly pipeline: Pipeline;
  readonly project: string;
  /** Where the functions publish triggers (their declared TRIGGER_MODE). */
  readonly triggerMode: TriggerMode;
  /** The declared FIRESTORE_COLLECTION_PREFIX. */
  readonly firestorePrefix: string;
  /** Collections the functions write (with the declared prefix). */
  readonly collections: ReturnType<typeof collectionNames>;
  /** Declared BigQuery dataset of the functions (BQ_DATASET). */
  readonly datasetId: string;
  readonly firestore: EmulatorHandle;
  readonly pubsub: EmulatorHandle;
  readonly bigquery: BigQueryFake;
  readonly slack: SlackSink;
  /** The functions' path to Firestore (fault injection). */
  readonly firestoreProxy: TcpProxy;
  /** Each function's own path to Pub/Sub, by deployed name. */
  readonly pubsubProxies: ReadonlyMap<string, TcpProxy>;
  /** Served functions by deployed name; with several instances, all of them as one (kill/restart act on every instance). */
  readonly functions: ReadonlyMap<string, ServedFunction>;
  /** Every instance of each function (each listening on an internal port), by deployed name. */
  readonly instances: ReadonlyMap<string, readonly ServedFunction[]>;
  /** Instances per function. */
  readonly instanceCount: number;
  /**
   * The URL of each function as callers see it (push endpoints, scheduler, health): a front proxy to
   * the function's internal port, as Cloud Run's front end is, so a restarting instance makes callers
   * wait (stall) instead of being refused.
   */
  readonly urls: ReadonlyMap<string, string>;
  readonly frontProxies: ReadonlyMap<string, FrontProxy>;
  /** Deployed function name of each transition's orchestrator (from its TRANSITION_ID). */
  readonly orchestrators: ReadonlyMap<string, string>;
  /** Direct clients (not through the fault proxies): the simulated processors and the report use them. */
  readonly db: Firestore;
  readonly ps: PubSub;
  readonly bq: BigQuery;
  /** Things the local stack does differently from the cloud, for the report. */
  readonly localNotes: string[];
  close(): Promise<void>;
}
