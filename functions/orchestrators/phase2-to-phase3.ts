// Entry point of phase2-to-phase3-orchestrator: one bundle, bound to its transition, so a change here
// changes this function's code hash only.
import * as functions from "@google-cloud/functions-framework";
import { createOrchestratorFromEnv } from "../lib/orchestrator-runtime.ts";

functions.http("orchestrate", createOrchestratorFromEnv("phase2-to-phase3"));
