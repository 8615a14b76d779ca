// Entry point of phase5-to-phase6-orchestrator: one bundle, bound to its transition, so a change here
// changes this function's code hash only.
import * as functions from "@google-cloud/functions-framework";
import { createOrchestratorFromEnv } from "../lib/orchestrator-runtime.ts";

functions.http("orchestrate", createOrchestratorFromEnv("phase5-to-phase6"));
