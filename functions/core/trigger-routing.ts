// Where a trigger goes. In `live` mode a transition's trigger goes to its output topic, which the next
// phase consumes. In `shadow` mode (this system runs beside an existing orchestrator that still
// triggers the pipeline) it goes to a shadow topic no downstream service reads, so every phase is
// still triggered exactly once, by the existing system, while ours records and decides the same way.
// Pure: the runtime takes the mode from TRIGGER_MODE, infra from the stack's triggerMode.
import type { Pipeline, Transition } from "./pipeline-types.ts";

export const TRIGGER_MODES = ["live", "shadow"] as const;
export type TriggerMode = (typeof TRIGGER_MODES)[number];
export const DEFAULT_TRIGGER_MODE: TriggerMode = "live";

export const SHADOW_TOPIC_SUFFIX = "-shadow";
export const TAP_SUBSCRIPTION_SUFFIX = "-tap";

export const isTriggerMode = (v: unknown): v is TriggerMode => typeof v === "string" && (TRIGGER_MODES as readonly string[]).includes(v);

/** The shadow topic of a live trigger topic. */
export function shadowTopicName(liveTopic: string): string {
  return `${liveTopic}${SHADOW_TOPIC_SUFFIX}`;
}

/** The pull subscription on a live trigger topic through which a shadow stack reads what the existing system triggered. */
export function tapSubscriptionName(liveTopic: string): string {
  return `${liveTopic}${TAP_SUBSCRIPTION_SUFFIX}`;
}

/** The topic a trigger of `transition` is published to in `mode`. */
export function triggerTopicFor(mode: TriggerMode, transition: Pick<Transition, "outputTopicName">): string {
  return mode === "shadow" ? shadowTopicName(transition.outputTopicName) : transition.outputTopicName;
}

/**
 * The pipeline as the publishing code sees it: each transition's output topic is where its trigger
 * goes in `mode`. Everything that publishes or checks publish permission reads outputTopicName, so
 * routing it here routes every publish path (first publish, republish, sweeper, reconciler, /health).
 */
export function routeTriggers(pipeline: Pipeline, mode: TriggerMode): Pipeline {
  if (mode === "live") return pipeline;
  return { ...pipeline, transitions: pipeline.transitions.map((t) => ({ ...t, outputTopicName: triggerTopicFor(mode, t) })) };
}

/** Every live trigger topic of the pipeline (the output topics), each once. */
export function liveTriggerTopics(pipeline: Pipeline): string[] {
  return [...new Set(pipeline.transitions.map((t) => t.outputTopicName))];
}
