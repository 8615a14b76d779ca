// Memory, CPU and request concurrency of one Cloud Functions 2nd gen instance (a Cloud Run service),
// checked against Cloud Run's rules so that a stack asking for an impossible combination fails at
// `pulumi preview` instead of being rejected by the API half-way through a deployment. Pure.
//
// The rules (Cloud Run "Configure CPU limits" and "Configure memory limits"):
// - CPU is a value in [0.08, 1) in steps of 0.01, or 1, 2, 4, 6 or 8;
// - below 1 CPU an instance serves one request at a time (concurrency 1), more than 512 MiB needs at
//   least 0.5 CPU and more than 1 GiB needs 1 CPU;
// - more than 4 GiB needs 2 CPUs, more than 8 GiB 4, more than 16 GiB 6, more than 24 GiB 8; at most 32 GiB;
// - 4 CPUs need at least 2 GiB, 6 and 8 CPUs at least 4 GiB.
// Without an explicit CPU, Cloud Functions derives it from the memory (the tier table below).

export interface InstanceSizing {
  /** "512Mi", "1Gi", ... */
  memory: string;
  /** Explicit CPU ("0.5", "1", "2"), or undefined: derived from the memory. */
  cpu: string | undefined;
  /** Requests one instance serves at once (maxInstanceRequestConcurrency). */
  concurrency: number;
}

const GI = 1024;

/** Memory in MiB, or undefined when the text is not a whole number of Mi or Gi. */
export function memoryMiB(memory: string): number | undefined {
  const m = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (m === null) return undefined;
  return Number(m[1]) * (m[2] === "Gi" ? GI : 1);
}

// Cloud Functions' CPU for a memory size when none is set: the smallest tier that holds the memory.
const DERIVED_CPU: ReadonlyArray<readonly [maxMiB: number, cpu: number]> = [
  [128, 0.083],
  [256, 0.167],
  [512, 0.333],
  [1 * GI, 0.583],
  [2 * GI, 1],
  [8 * GI, 2],
  [16 * GI, 4],
  [32 * GI, 8],
];

/** The CPU an instance gets: the explicit value, or the one Cloud Functions derives from the memory. */
export function effectiveCpu(sizing: Pick<InstanceSizing, "memory" | "cpu">): number | undefined {
  if (sizing.cpu !== undefined) {
    const n = Number(sizing.cpu);
    return /^\d+(\.\d{1,3})?$/.test(sizing.cpu) && Number.isFinite(n) ? n : undefined;
  }
  const mib = memoryMiB(sizing.memory);
  if (mib === undefined) return undefined;
  return DERIVED_CPU.find(([max]) => mib <= max)?.[1];
}

/** Every rule the combination breaks (empty when Cloud Run would accept it). */
export function instanceSizingProblems(sizing: InstanceSizing): string[] {
  const problems: string[] = [];
  const mib = memoryMiB(sizing.memory);
  if (mib === undefined) return [`memory "${sizing.memory}" is not a whole number of Mi or Gi`];
  if (mib > 32 * GI) problems.push(`memory ${sizing.memory} is above Cloud Run's maximum of 32Gi`);
  if (!Number.isInteger(sizing.concurrency) || sizing.concurrency < 1 || sizing.concurrency > 1000) {
    problems.push(`concurrency ${sizing.concurrency} must be a whole number in 1..1000`);
  }
  if (sizing.cpu !== undefined) {
    const n = Number(sizing.cpu);
    const fractional = /^0\.\d{1,2}$/.test(sizing.cpu) && n >= 0.08;
    const whole = ["1", "2", "4", "6", "8"].includes(sizing.cpu);
    if (!fractional && !whole) {
      problems.push(`cpu "${sizing.cpu}" must be 0.08..0.99 (steps of 0.01) or 1, 2, 4, 6 or 8`);
      return problems;
    }
  }
  const cpu = effectiveCpu(sizing);
  if (cpu === undefined) {
    problems.push(`memory ${sizing.memory} has no CPU tier; set the cpu explicitly`);
    return problems;
  }
  const cpuText = sizing.cpu === undefined ? `the ${cpu} CPU derived from ${sizing.memory}` : `cpu ${cpu}`;
  if (sizing.concurrency > 1 && cpu < 1) {
    problems.push(`concurrency ${sizing.concurrency} needs at least 1 CPU, but the instance has ${cpuText}`);
  }
  if (sizing.cpu !== undefined) {
    if (mib > 512 && cpu < 0.5) problems.push(`memory ${sizing.memory} (above 512Mi) needs at least 0.5 CPU, got ${cpu}`);
    if (mib > GI && cpu < 1) problems.push(`memory ${sizing.memory} (above 1Gi) needs at least 1 CPU, got ${cpu}`);
    const needed = mib > 24 * GI ? 8 : mib > 16 * GI ? 6 : mib > 8 * GI ? 4 : mib > 4 * GI ? 2 : 0;
    if (cpu < needed) problems.push(`memory ${sizing.memory} needs at least ${needed} CPUs, got ${cpu}`);
    const minMiB = cpu >= 6 ? 4 * GI : cpu >= 4 ? 2 * GI : 0;
    if (mib < minMiB) problems.push(`${cpu} CPUs need at least ${minMiB / GI}Gi of memory, got ${sizing.memory}`);
  }
  return problems;
}
