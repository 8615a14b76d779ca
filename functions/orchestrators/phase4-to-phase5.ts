// Placeholder entry point of phase4-to-phase5-orchestrator; the runtime issue replaces it.
import * as functions from "@google-cloud/functions-framework";

functions.http("orchestrate", (req, res) => {
  res.status(503).json({ error: "phase4-to-phase5-orchestrator is not implemented yet" });
});
