// The policy SDK's sentinel for a string that is unknown during a preview.
import { createRequire } from "node:module";

const proxy = createRequire(import.meta.url)("@pulumi/policy/proxy.js") as Record<string, unknown>;
export const UNKNOWN_STRING = proxy.unknownStringValue as string;
