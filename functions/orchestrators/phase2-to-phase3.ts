// Placeholder entry point of phase2-to-phase3-orchestrator; the runtime issue replaces it.
import * as functions from "@google-cloud/functions-framework";

functions.http("orchestrate", (req, res) => {
  res.status(503).json({ error: "phase2-to-phase3-orchestrator is not implemented yet" });
});
