// The policy pack: `pulumi preview --policy-pack policies` runs this (through pulumi-entry.cjs).
// Constructing the PolicyPack starts its gRPC server, so nothing else imports this module; tests and
// `npm run plan -- --policy` use the list in policies.ts.
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, POLICIES } from "./policies.ts";

new PolicyPack(PACK_NAME, { policies: POLICIES });
