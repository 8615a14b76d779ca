// The completion tracker's shapes, shared by its parts (tracker-transaction.ts, trigger-publish-step.ts,
// completion-rows.ts, tracker-log.ts) and re-exported by completion-tracker.ts, its one public face.
import type { DocumentReference } from "@google-cloud/firestore";
import type { Decision } from "../core/decision-types.ts";
import type { CompletionFacts } from "../core/completion-row.ts";
import type { BigQueryStore } from "./bigquery-store.ts";

/** What the tracker needs of BigQuery (checkDataset: is it reachable, asked when Firestore failed). */
export type CompletionSink = Pick<BigQueryStore, "insertCompletion" | "upsertStatus" | "insertExecutionLog" | "checkDataset">;

/** Publishes a trigger; resolves to the Pub/Sub message id. */
export interface TriggerPublisher {
  publish(topicName: string, payload: Record<string, unknown>, attributes: Record<string, string>): Promise<string>;
}

export type StoreOutcome = { ok: true } | { ok: false; error: unknown };

export const failed = (error: unknown): StoreOutcome => ({ ok: false, error });

export interface TriggerOutcome {
  triggerId: string;
  state: "pending" | "published";
  /** This call published it (false when it was already published, or the publish failed). */
  publishedNow: boolean;
  /**
   * false: another call latched this trigger and owns its publish; this message's own work is done.
   * Absent: this call was responsible for publishing it.
   */
  owner?: false;
  error?: unknown;
  /** What failed: the publish itself, or marking it published after the publish went out. */
  failedStep?: "publish" | "mark" | "claim" | "check";
  /**
   * The publish was given up while the call was still in flight: it may yet be accepted. Not a recorded
   * failure (others wait out the grace period); if it lands, it is marked published in the background.
   */
  outcomeUnknown?: boolean;
}

/**
 * A republish that certainly did not go out: the publish was refused (not given up in flight), or the
 * execution log could not be asked before it. Its claim may be given back (releaseTriggerPublishClaim).
 */
export function certainlyNotSent(outcome: Pick<TriggerOutcome, "error" | "failedStep" | "outcomeUnknown">): boolean {
  if (outcome.error === undefined) return false;
  return outcome.failedStep === "check" || (outcome.failedStep === "publish" && outcome.outcomeUnknown !== true);
}

export interface TrackResult {
  firestore: StoreOutcome & { duplicate?: boolean };
  /**
   * deferred: the completion row was not written, and a later delivery writes it: this delivery is
   * answered non-2xx only for its pending trigger (the delivery that is acknowledged writes it), or
   * Firestore failed (BigQuery answered; the delivery that records the entry writes it). BigQuery
   * de-duplicates an insert id for about a minute only, so a row inserted by each of several deliveries
   * would be counted twice.
   */
  bigquery: StoreOutcome & { deferred?: boolean };
  decision: Decision | null;
  trigger: TriggerOutcome | null;
  /** Every store written and any latched trigger published: the message may be acknowledged. */
  done: boolean;
}

/** Facts of the message that only BigQuery keeps. */
export type RawFacts = CompletionFacts;

/** A phase-state document in Firestore (not Firebase: the server client, no Firebase SDK). */
export type PhaseStateRef = DocumentReference;
