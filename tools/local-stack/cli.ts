// Placeholder until the local-stack issue lands: say what `npm start` will do, and fail clearly.
process.stderr.write(
  [
    "npm start: the local stack is not built yet.",
    "It will evaluate the Pulumi program for a stack (default dev), provision what it declares onto the",
    "Firestore and Pub/Sub emulators and a local BigQuery fake, serve every function with the functions",
    "framework, and replay a game day through every phase, then print a report.",
    "",
  ].join("\n"),
);
process.exit(1);
