// Placeholder entry point of phase5-to-phase6-orchestrator; the runtime issue replaces it.
import * as functions from "@google-cloud/functions-framework";

functions.http("orchestrate", (req, res) => {
  res.status(503).json({ error: "phase5-to-phase6-orchestrator is not implemented yet" });
});
