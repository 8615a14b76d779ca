// Entry point of phase-reconciler: Cloud Scheduler POSTs here (see infra function-registry.ts) to
// compare and repair Firestore and BigQuery completion state over the recent game dates.
import * as functions from "@google-cloud/functions-framework";
import { createScheduledFromEnv } from "./runtime.ts";

functions.http("reconcile", createScheduledFromEnv("reconciler"));
