// Entry point of phase-sweeper: Cloud Scheduler POSTs here every few minutes (see infra
// function-registry.ts). One bundle of its own, so a change here changes this function's hash only.
import * as functions from "@google-cloud/functions-framework";
import { createScheduledFromEnv } from "./runtime.ts";

functions.http("sweep", createScheduledFromEnv("sweeper"));
