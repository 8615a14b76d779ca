// Which runbook each alert links to (files under docs/runbooks/). The link base is the repository
// URL from the stack config (stack-config.ts runbookUrl), never a URL in code.
export const RUNBOOKS = {
  function5xx: { file: "function-5xx.md", title: "Function returns 5xx" },
  bothStoresFailed: { file: "both-stores-failed.md", title: "Both stores failed (completion not recorded)" },
  deadLetters: { file: "dead-letters.md", title: "Dead letters waiting (and how to replay them)" },
  pushBacklog: { file: "push-backlog.md", title: "Push subscription backlog (oldest unacked message)" },
  pipelineStalled: { file: "pipeline-stalled.md", title: "Pipeline stalled (no trigger of a phase)" },
  dualWriteFallback: { file: "dual-write-fallback.md", title: "Dual-write fallback rate high" },
  uptimeFailed: { file: "uptime-failed.md", title: "Function health check failing" },
  scheduledJobSilent: { file: "scheduled-job-silent.md", title: "Scheduled job stopped (no completed run)" },
  phaseStalled: { file: "phase-stalled.md", title: "Phase stalled (logged by the sweeper)" },
  alertNotDelivered: { file: "alert-not-delivered.md", title: "Slack alert not delivered" },
} as const;

export type RunbookKey = keyof typeof RUNBOOKS;
