/* global require, module, __filename */
/* eslint-disable @typescript-eslint/no-require-imports -- the CLI loads this file with require() */
// The entry the Pulumi CLI loads (policies/package.json "main"). Its policy-pack runner
// (@pulumi/pulumi cmd/run-policy-pack) require()s the pack directory and awaits the function the
// entry exports; the pack itself is ESM TypeScript, so this imports it through tsx's tsImport
// (tsx is a devDependency of the project, resolved from the repository's node_modules).
const { tsImport } = require("tsx/esm/api");

module.exports = () => tsImport("./index.ts", __filename);
