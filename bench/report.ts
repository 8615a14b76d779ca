// The shape of one benchmark run (what --json prints) and the machine facts it carries.
import os from "node:os";
import type { BenchOptions } from "./options.ts";
import type { ColdStartResult } from "./cold-start.ts";
import type { LatencyResult } from "./latency.ts";
import type { ContentionRun } from "./contention.ts";
import type { OperationsResult } from "./operations.ts";
import type { BurstResult } from "./bursts.ts";
import type { TargetVerdict } from "./targets.ts";

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

export interface BenchReport {
  startedAt: string;
  durationMs: number;
  machine: MachineFacts;
  options: BenchOptions & { quick: boolean };
  coldStart?: ColdStartResult;
  latency?: LatencyResult;
  contention?: ContentionRun[];
  operations?: OperationsResult;
  bursts?: BurstResult;
  /** The four targets judged from this run (bench/targets.ts). */
  targets?: TargetVerdict[];
}

export function machineFacts(loadAverageStart: number[]): MachineFacts {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageStart,
    loadAverageEnd: os.loadavg(),
  };
}
