// Placeholder entry point of phase3-to-phase4-orchestrator; the runtime issue replaces it.
import * as functions from "@google-cloud/functions-framework";

functions.http("orchestrate", (req, res) => {
  res.status(503).json({ error: "phase3-to-phase4-orchestrator is not implemented yet" });
});
