// Firestore collection names, derived in one place from the environment's prefix (functions/core,
// where infra also reads them to declare each collection's TTL policy).
export { collectionNames } from "../core/firestore-collections.ts";
