// What a pipeline config means, checked on a config whose shape (pipeline-schema.ts) is right:
// names, processors and their references, trigger rules, topics (one reader and one writer each, no
// loops, every derived name valid). Every problem at once, each at its path. Pure.
import { RUN_MODES } from "./pipeline-types.ts";
import type { PipelineConfig, ProcessorDef, TransitionConfig } from "./pipeline-types.ts";
import { resolveNames, pushSubscriptionName } from "./pipeline-names.ts";
import { formatProblem, PipelineConfigError, requiredErrorMap, zodIssuesToProblems } from "./pipeline-problems.ts";
import type { ConfigProblem } from "./pipeline-problems.ts";
import { PipelineConfigSchema } from "./pipeline-schema.ts";
import { FUNCTION_NAME_MAX, functionNameProblem, pubsubNameProblem } from "./platform-limits.ts";
import { SHADOW_TOPIC_SUFFIX, shadowTopicName, tapSubscriptionName } from "./trigger-routing.ts";

const SPORT = /^[a-z][a-z0-9]*$/;
// Transition ids end up in trigger ids and Firestore document ids: keep them plain.
const TRANSITION_ID = /^[a-z0-9][a-z0-9-]*$/;
// Processor names become Firestore field keys and BigQuery values: no dots or spaces.
const PROCESSOR_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * A model function name must be a valid function name in both trigger modes: in shadow mode every
 * function is deployed as `<name>-shadow` (infra/naming.ts), so the name leaves room for that suffix.
 */
export function modelFunctionNameProblem(name: string): string | null {
  const own = functionNameProblem(name);
  if (own !== null) return own;
  if (functionNameProblem(`${name}${SHADOW_TOPIC_SUFFIX}`) !== null) {
    return `"${name}" leaves no room for the "${SHADOW_TOPIC_SUFFIX}" suffix of shadow mode (at most ${FUNCTION_NAME_MAX - SHADOW_TOPIC_SUFFIX.length} characters)`;
  }
  return null;
}

function timeZoneProblem(timeZone: string): string | null {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return null;
  } catch (error) {
    // Intl reports an unknown zone as a RangeError; that is the answer we want, anything else is a bug.
    if (error instanceof RangeError) return `unknown time zone "${timeZone}"`;
    throw error;
  }
}

/** Reports each repeated value of `values` at its later position, naming the first. */
function duplicatesIn(values: readonly string[], basePath: string, what: string): ConfigProblem[] {
  const firstAt = new Map<string, number>();
  const problems: ConfigProblem[] = [];
  values.forEach((value, i) => {
    const first = firstAt.get(value);
    if (first === undefined) firstAt.set(value, i);
    else problems.push({ path: `${basePath}[${i}]`, message: `duplicate ${what} "${value}" (also at [${first}])` });
  });
  return problems;
}

function checkProcessorRefs(names: readonly string[], known: ReadonlySet<string>, basePath: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  names.forEach((name, i) => {
    if (!known.has(name)) problems.push({ path: `${basePath}[${i}]`, message: `unknown processor "${name}"` });
  });
  return [...problems, ...duplicatesIn(names, basePath, "processor")];
}

function checkProcessors(processors: readonly ProcessorDef[], at: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  // Names and aliases share one namespace: a class name must identify exactly one processor.
  const identifiers = new Map<string, string>();
  const tables = new Map<string, string>();
  const claim = (registry: Map<string, string>, value: string, path: string, what: string) => {
    const first = registry.get(value);
    if (first === undefined) registry.set(value, path);
    else problems.push({ path, message: `duplicate ${what} "${value}" (already at ${first})` });
  };
  processors.forEach((proc, i) => {
    const path = `${at}[${i}]`;
    if (!PROCESSOR_NAME.test(proc.name)) {
      problems.push({ path: `${path}.name`, message: `"${proc.name}" must be letters, digits and _ (starting with a letter)` });
    }
    claim(identifiers, proc.name, `${path}.name`, "processor name or alias");
  });
  processors.forEach((proc, i) => {
    proc.aliases.forEach((alias, j) => claim(identifiers, alias, `${at}[${i}].aliases[${j}]`, "processor name or alias"));
    proc.outputTables.forEach((table, j) => claim(tables, table, `${at}[${i}].outputTables[${j}]`, "output table"));
  });
  return problems;
}

function checkRule(t: TransitionConfig, at: string): ConfigProblem[] {
  const known = new Set(t.processors.map((p) => p.name));
  const rule = t.rule;
  const problems: ConfigProblem[] = [];
  switch (rule.kind) {
    case "all_complete": {
      problems.push(...checkProcessorRefs(rule.deadline.critical, known, `${at}.deadline.critical`));
      if (rule.deadline.enabled && rule.deadline.critical.length === 0) {
        problems.push({
          path: `${at}.deadline.critical`,
          message: "an enabled deadline needs at least one critical processor (it would trigger with nothing complete)",
        });
      }
      break;
    }
    case "mode_aware": {
      if (!(rule.majorityPct > 0 && rule.majorityPct <= 100)) {
        problems.push({ path: `${at}.majorityPct`, message: `${rule.majorityPct} must be > 0 and <= 100` });
      }
      for (const mode of RUN_MODES) {
        const sets = rule.modes[mode];
        const modePath = `${at}.modes.${mode}`;
        if (sets.expected.length === 0) {
          problems.push({ path: `${modePath}.expected`, message: "expected set is empty: the rule can never fire" });
        }
        for (const key of ["expected", "critical", "optional"] as const) {
          problems.push(...checkProcessorRefs(sets[key], known, `${modePath}.${key}`));
        }
        const expected = new Set(sets.expected);
        for (const key of ["critical", "optional"] as const) {
          sets[key].forEach((name, i) => {
            if (known.has(name) && !expected.has(name)) {
              problems.push({ path: `${modePath}.${key}[${i}]`, message: `"${name}" is not in this mode's expected set` });
            }
          });
        }
        const critical = new Set(sets.critical);
        sets.optional.forEach((name, i) => {
          if (critical.has(name)) {
            problems.push({ path: `${modePath}.optional[${i}]`, message: `"${name}" is both critical and optional` });
          }
        });
      }
      break;
    }
    case "tiered": {
      rule.tiers.forEach((tier, i) => {
        const tierPath = `${at}.tiers[${i}]`;
        if (!(tier.afterMinutes > 0)) {
          problems.push({ path: `${tierPath}.afterMinutes`, message: `${tier.afterMinutes} must be > 0` });
        }
        if (tier.minComplete < 1 || tier.minComplete > t.processors.length) {
          problems.push({
            path: `${tierPath}.minComplete`,
            message: `${tier.minComplete} can never fire: must be between 1 and ${t.processors.length} (the number of processors)`,
          });
        }
        const previous = rule.tiers[i - 1];
        if (previous !== undefined) {
          if (tier.afterMinutes <= previous.afterMinutes) {
            problems.push({
              path: `${tierPath}.afterMinutes`,
              message: `${tier.afterMinutes} is not after the previous tier's ${previous.afterMinutes}: tiers must increase in time`,
            });
          }
          if (tier.minComplete > previous.minComplete) {
            problems.push({
              path: `${tierPath}.minComplete`,
              message: `${tier.minComplete} is stricter than the previous tier's ${previous.minComplete}: the earlier tier always fires first`,
            });
          }
        }
      });
      break;
    }
    case "completion_pct": {
      if (!known.has(rule.processor)) {
        problems.push({ path: `${at}.processor`, message: `unknown processor "${rule.processor}"` });
      }
      if (!(rule.minPct >= 0 && rule.minPct <= 100)) {
        problems.push({ path: `${at}.minPct`, message: `${rule.minPct} can never be reached: must be between 0 and 100` });
      }
      if (rule.exportTypes.length === 0) {
        problems.push({ path: `${at}.exportTypes`, message: "must name at least one export type (the exporter reads export_types)" });
      }
      problems.push(...duplicatesIn(rule.exportTypes, `${at}.exportTypes`, "export type"));
      break;
    }
  }
  return problems;
}

/** Finds a cycle in the phase graph, returned as the phases along it (e.g. [3, 4, 3]), or null. */
function findPhaseCycle(edges: readonly { from: number; to: number }[]): number[] | null {
  const next = new Map<number, number[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const state = new Map<number, "visiting" | "done">();
  const stack: number[] = [];
  const visit = (phase: number): number[] | null => {
    if (state.get(phase) === "visiting") return [...stack.slice(stack.indexOf(phase)), phase];
    if (state.get(phase) === "done") return null;
    state.set(phase, "visiting");
    stack.push(phase);
    for (const to of next.get(phase) ?? []) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(phase, "done");
    return null;
  };
  for (const { from } of edges) {
    const cycle = visit(from);
    if (cycle) return cycle;
  }
  return null;
}

function checkTopics(config: PipelineConfig, options: { checkNames: boolean }): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const resolved = config.transitions.map((t) => resolveNames(config.sport, t));

  resolved.forEach((n, i) => {
    if (!options.checkNames) return;
    const at = `transitions[${i}]`;
    // Every name the program derives from a topic must be valid too. The derived ones only add a
    // suffix, so past the topic's own name the longest one says how much shorter it must be.
    const firstProblem = ([own, ...derived]: string[]) =>
      [own ?? "", ...derived.sort((a, b) => b.length - a.length)].map(pubsubNameProblem).find((p) => p !== null);
    const inputProblem = firstProblem([n.inputTopicName, n.deadLetterTopicName, n.deadLetterSubscriptionName, pushSubscriptionName(n.inputTopicName)]);
    if (inputProblem) problems.push({ path: `${at}.inputTopic`, message: inputProblem });
    const outputProblem = firstProblem([n.outputTopicName, shadowTopicName(n.outputTopicName), tapSubscriptionName(n.outputTopicName)]);
    if (outputProblem) problems.push({ path: `${at}.outputTopic`, message: outputProblem });
  });

  // One reader per input topic and one writer per output topic.
  const inputOf = new Map<string, number>();
  const outputOf = new Map<string, number>();
  resolved.forEach((n, i) => {
    const firstReader = inputOf.get(n.inputTopicName);
    if (firstReader === undefined) inputOf.set(n.inputTopicName, i);
    else {
      problems.push({
        path: `transitions[${i}].inputTopic`,
        message: `duplicate topic "${n.inputTopicName}": already the input topic of transitions[${firstReader}]`,
      });
    }
    const firstWriter = outputOf.get(n.outputTopicName);
    if (firstWriter === undefined) outputOf.set(n.outputTopicName, i);
    else {
      problems.push({
        path: `transitions[${i}].outputTopic`,
        message: `duplicate topic "${n.outputTopicName}": already the output topic of transitions[${firstWriter}]`,
      });
    }
  });

  resolved.forEach((n, i) => {
    const me = config.transitions[i];
    if (me === undefined) return;
    if (n.outputTopicName === n.inputTopicName) {
      problems.push({ path: `transitions[${i}].outputTopic`, message: `duplicate topic "${n.outputTopicName}": equals its own input topic` });
    } else {
      // Feeding a later phase's input is chaining; feeding an earlier (or the same) phase loops.
      const reader = inputOf.get(n.outputTopicName);
      const readerTransition = reader === undefined ? undefined : config.transitions[reader];
      if (readerTransition && readerTransition.fromPhase <= me.fromPhase) {
        problems.push({
          path: `transitions[${i}].outputTopic`,
          message: `topic "${n.outputTopicName}" is the input of an earlier phase (transitions[${reader}], phase ${readerTransition.fromPhase}): triggers would loop`,
        });
      }
    }
    // Dead-letter topics are derived; they must not be any configured topic.
    if (inputOf.has(n.deadLetterTopicName) || outputOf.has(n.deadLetterTopicName)) {
      problems.push({
        path: `transitions[${i}].inputTopic`,
        message: `duplicate topic "${n.deadLetterTopicName}": its dead-letter topic is also a configured topic`,
      });
    }
  });

  const cycle = findPhaseCycle(config.transitions.map((t) => ({ from: t.fromPhase, to: t.toPhase })));
  if (cycle) {
    const [from, to] = cycle.slice(-2);
    const culprit = config.transitions.findIndex((t) => t.fromPhase === from && t.toPhase === to);
    problems.push({ path: `transitions[${Math.max(culprit, 0)}].toPhase`, message: `phase cycle ${cycle.join(" -> ")}` });
  }
  return problems;
}

function checkTransitionNames(config: PipelineConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  config.transitions.forEach((t, i) => {
    if (!TRANSITION_ID.test(t.id)) {
      problems.push({ path: `transitions[${i}].id`, message: `"${t.id}" must be lowercase letters, digits and -` });
    }
    const functionProblem = modelFunctionNameProblem(t.functionName);
    if (functionProblem !== null) problems.push({ path: `transitions[${i}].functionName`, message: functionProblem });
  });
  const byKey = (key: "id" | "functionName" | "phaseWireName", what: string) =>
    duplicatesIn(config.transitions.map((t) => t[key]), "transitions", what).map((p) => ({ ...p, path: `${p.path}.${key}` }));
  return [
    ...problems,
    ...byKey("id", "transition id"),
    ...byKey("functionName", "function name"),
    ...byKey("phaseWireName", "phase wire name"),
  ];
}

/** The meaning checks, on a config whose shape is already valid. */
function semanticProblems(config: PipelineConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const sportProblem = !SPORT.test(config.sport)
    ? `"${config.sport}" must be lowercase letters and digits, starting with a letter`
    : config.sport.startsWith("goog")
      ? `"${config.sport}" must not start with "goog" (Pub/Sub reserves it)`
      : null;
  if (sportProblem) problems.push({ path: "sport", message: sportProblem });
  const tz = timeZoneProblem(config.timeZone);
  if (tz) problems.push({ path: "timeZone", message: tz });
  problems.push(...checkTransitionNames(config));
  config.transitions.forEach((t, i) => {
    problems.push(...checkProcessors(t.processors, `transitions[${i}].processors`));
    problems.push(...checkRule(t, `transitions[${i}].rule`));
  });
  // With a bad sport every topic name is bad too; the sport problem says it once.
  problems.push(...checkTopics(config, { checkNames: sportProblem === null }));
  return problems;
}

/** Every problem of a config: its shape first, its meaning once the shape is right. */
export function configProblems(config: unknown): ConfigProblem[] {
  const shape = PipelineConfigSchema.safeParse(config, { error: requiredErrorMap });
  if (!shape.success) return zodIssuesToProblems(shape.error.issues);
  return semanticProblems(shape.data);
}

/** Every problem of a pipeline config (shape first; meaning once the shape is right), as `path: message`. */
export function validatePipelineConfig(config: unknown): string[] {
  return configProblems(config).map(formatProblem);
}

/** Returns the config when valid; otherwise throws a PipelineConfigError listing every problem. */
export function parsePipelineConfig(json: unknown): PipelineConfig {
  const problems = validatePipelineConfig(json);
  if (problems.length > 0) throw new PipelineConfigError("invalid pipeline config", problems);
  const config: PipelineConfig = PipelineConfigSchema.parse(json);
  return config;
}
