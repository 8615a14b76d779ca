// Names of the pipeline model: topics get the sport prefix, dead-letter topic and subscription and
// the push subscription are derived from the input topic. Pure; does not validate (pipeline-checks.ts).
import type { Pipeline, PipelineConfig, Transition, TransitionConfig } from "./pipeline-types.ts";
import { ConfigurationError } from "./error-family.ts";

/** The names a transition's topics resolve to: sport-prefixed, with the derived dead-letter names. */
export function resolveNames(sport: string, t: TransitionConfig) {
  const inputTopicName = `${sport}-${t.inputTopic}`;
  return {
    inputTopicName,
    outputTopicName: `${sport}-${t.outputTopic}`,
    deadLetterTopicName: `${inputTopicName}-dlq`,
    deadLetterSubscriptionName: `${inputTopicName}-dlq-sub`,
  };
}

/** The push subscription of a transition's input topic (one reader per input topic). */
export function pushSubscriptionName(inputTopicName: string): string {
  return `${inputTopicName}-push-sub`;
}

/** Applies the sport prefix and derives dead-letter names. Does not validate (see loadPipeline). */
export function resolvePipeline(config: PipelineConfig): Pipeline {
  const copy = structuredClone(config);
  return {
    sport: copy.sport,
    timeZone: copy.timeZone,
    transitions: copy.transitions.map((t): Transition => ({ ...t, ...resolveNames(copy.sport, t) })),
  };
}

/** The transition with this id; throws naming the known ids when there is none. */
export function transitionById(pipeline: Pipeline, id: string): Transition {
  const found = pipeline.transitions.find((t) => t.id === id);
  if (!found) {
    throw new ConfigurationError(`unknown transition id "${id}" (known: ${pipeline.transitions.map((t) => t.id).join(", ")})`);
  }
  return found;
}
