// Every Firestore collection the functions write, derived from the environment's prefix, with how
// long its documents are kept. The runtime takes the names from here; infra declares one TTL policy
// per collection group from the same list, so a collection cannot be written without expiring. Pure.
import type { RetentionDays } from "./retention.ts";
import { scheduledCollectionNames } from "./scheduled-config.ts";

/** The orchestrators' collections. */
export function collectionNames(prefix: string) {
  return {
    /** One document per transition, game date and latch: entries and the trigger outbox. */
    phaseState: `${prefix}phase_state`,
    /** Messages that failed their contract, kept for an operator to read and replay. */
    quarantine: `${prefix}quarantine`,
    /** Unknown processor names, one document each, so each is alerted once. */
    unknownProcessors: `${prefix}unknown_processors`,
    /** Trigger ids already acted on by a consumer (exactly-once-effective triggering). */
    consumedTriggers: `${prefix}consumed_triggers`,
  };
}

export interface ExpiringCollection {
  name: string;
  /** Which retention setting its documents' expire_at follows. */
  retention: keyof RetentionDays;
}

/** Every collection the functions write; each document carries expire_at (retention.ts). */
export function expiringCollections(prefix: string): ExpiringCollection[] {
  const own = collectionNames(prefix);
  const scheduled = scheduledCollectionNames(prefix);
  return [
    { name: own.phaseState, retention: "phaseState" },
    { name: own.quarantine, retention: "quarantine" },
    { name: own.unknownProcessors, retention: "bookkeeping" },
    { name: own.consumedTriggers, retention: "bookkeeping" },
    { name: scheduled.publishClaims, retention: "bookkeeping" },
    { name: scheduled.stallAlerts, retention: "bookkeeping" },
  ];
}
