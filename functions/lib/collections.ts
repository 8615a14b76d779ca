// Firestore collection names, derived in one place from the environment's prefix.
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
