// The CI workflows: parsed with `yaml` and checked against the repository they run on (stack
// files, policy pack, drift tool), plus the two pieces of logic they carry executed for real: the
// stack-listing script (in a shell) and the drift-issue script (against an in-memory GitHub).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseDocument } from "yaml";
import { deployedRefFor } from "../../tools/drift/git-history.ts";
import { SECRET_KEYS } from "../../infra/stack-config.ts";

const REPO = path.resolve(import.meta.dirname, "../..");

/**
 * The current major of every action the workflows use, each running on node24 (checked against the
 * actions' releases). A workflow below one of these fails the test; a new action must be added here.
 */
const CURRENT_MAJORS: Record<string, number> = {
  "actions/checkout": 7,
  "actions/setup-node": 7,
  "actions/setup-java": 5,
  "actions/github-script": 8,
  "pulumi/actions": 7,
  "google-github-actions/auth": 3,
  "google-github-actions/setup-gcloud": 3,
};
const WORKFLOW_DIR = path.join(REPO, ".github", "workflows");

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  "continue-on-error"?: boolean;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  with?: Record<string, unknown>;
  strategy?: { matrix?: Record<string, unknown> };
  steps?: Step[];
  permissions?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

function loadWorkflows(): Map<string, { text: string; workflow: Workflow }> {
  const result = new Map<string, { text: string; workflow: Workflow }>();
  for (const file of readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f))) {
    const text = readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
    const doc = parseDocument(text);
    assert.deepEqual(doc.errors.map(String), [], `${file} parses`);
    result.set(file, { text, workflow: doc.toJS() as Workflow });
  }
  return result;
}

const workflows = loadWorkflows();
const get = (file: string) => {
  const entry = workflows.get(file);
  assert.ok(entry, `${file} exists`);
  return entry.workflow;
};
const stackFiles = () =>
  readdirSync(REPO)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
const allJobs = () => [...workflows].flatMap(([file, { workflow }]) => Object.entries(workflow.jobs).map(([id, job]) => ({ file, id, job })));
const allSteps = () => allJobs().flatMap(({ file, id, job }) => (job.steps ?? []).map((step) => ({ file, id, step })));
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const isExpression = (value: unknown) => typeof value === "string" && /^\$\{\{.*\}\}$/s.test(value.trim());

/** The shell script of the list-stacks workflow: the one place the stack matrix comes from. */
function listStacksScript(): string {
  const steps = Object.values(get("list-stacks.yml").jobs).flatMap((j) => j.steps ?? []);
  const step = steps.find((s) => s.run?.includes("Pulumi.*.yaml"));
  assert.ok(step?.run, "list-stacks.yml has a step listing Pulumi.*.yaml");
  return step.run;
}

function runListStacks(cwd: string): { status: number | null; stacks?: string[] } {
  const outputFile = path.join(mkdtempSync(path.join(tmpdir(), "gh-output-")), "output");
  writeFileSync(outputFile, "");
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", listStacksScript()], {
    cwd,
    env: { ...process.env, GITHUB_OUTPUT: outputFile },
    encoding: "utf8",
  });
  const line = readFileSync(outputFile, "utf8")
    .split("\n")
    .find((l) => l.startsWith("stacks="));
  rmSync(path.dirname(outputFile), { recursive: true, force: true });
  return { status: result.status, ...(line ? { stacks: JSON.parse(line.slice("stacks=".length)) as string[] } : {}) };
}

describe("workflows: all", () => {
  it("every workflow parses and has triggers and jobs", () => {
    assert.ok(workflows.size >= 4);
    for (const [file, { workflow }] of workflows) {
      assert.ok(workflow.on && Object.keys(workflow.on).length > 0, `${file}: on`);
      assert.ok(workflow.jobs && Object.keys(workflow.jobs).length > 0, `${file}: jobs`);
    }
  });

  it("every needs: names a job of the same workflow, and local reusable workflows exist", () => {
    for (const { file, id, job } of allJobs()) {
      const jobs = get(file).jobs;
      for (const need of needsOf(job)) assert.ok(need in jobs, `${file}: ${id} needs ${need}`);
      if (job.uses?.startsWith("./")) assert.ok(existsSync(path.join(REPO, job.uses)), `${file}: ${id} uses ${job.uses}`);
    }
  });

  it("contains no URL, project id or service account literal", () => {
    const forbidden: [RegExp, string][] = [
      [/https?:\/\//, "URL"],
      [/projects\/[a-z0-9-]+/, "GCP resource path"],
      [/\.iam\.gserviceaccount\.com/, "service account e-mail"],
      [/workloadIdentityPools\//, "workload identity pool path"],
      [/nba-props-platform/, "project id"],
      [/--project\b/, "project flag"],
      [/credentials_json/, "service account key"],
    ];
    for (const [file, { text }] of workflows) {
      for (const [pattern, what] of forbidden) assert.doesNotMatch(text, pattern, `${file} holds a ${what}`);
    }
  });

  it("authenticates to Google only through Workload Identity Federation from variables", () => {
    const auths = allSteps().filter(({ step }) => step.uses?.startsWith("google-github-actions/auth@"));
    assert.ok(auths.length >= 3, "preview, deploy and drift authenticate");
    for (const { file, id, step } of auths) {
      for (const key of ["workload_identity_provider", "service_account"]) {
        assert.match(String(step.with?.[key]), /^\$\{\{\s*vars\.[A-Z_]+\s*\}\}$/, `${file}/${id}: ${key}`);
      }
      const job = get(file).jobs[id];
      const idToken = job?.permissions?.["id-token"];
      const callerGrants = allJobs().some(({ job: caller }) => caller.uses?.endsWith(file) && caller.permissions?.["id-token"] === "write");
      assert.ok(idToken === "write" || callerGrants, `${file}/${id}: id-token: write`);
    }
  });

  it("gives every Pulumi command PULUMI_ACCESS_TOKEN from secrets", () => {
    const pulumiSteps = allSteps().filter(
      ({ step }) => (step.uses?.startsWith("pulumi/actions@") && step.with?.["command"]) || /\bpulumi\s+(preview|up|refresh|config)\b/.test(step.run ?? ""),
    );
    assert.ok(pulumiSteps.length >= 6);
    for (const { file, id, step } of pulumiSteps) {
      assert.match(String(step.env?.["PULUMI_ACCESS_TOKEN"]), /^\$\{\{\s*secrets\.PULUMI_ACCESS_TOKEN\s*\}\}$/, `${file}/${id}`);
    }
  });

  it("uses every action at its current major (the node20-based majors are end-of-life), and only known actions", () => {
    const remote = allSteps().filter(({ step }) => step.uses !== undefined && !step.uses.startsWith("./"));
    assert.ok(remote.length > 0);
    for (const { file, id, step } of remote) {
      const match = /^([^@]+)@v(\d+)$/.exec(step.uses ?? "");
      assert.ok(match, `${file}/${id}: ${step.uses} is pinned to a major tag (@vN)`);
      const [, action, major] = match;
      const current = CURRENT_MAJORS[action!];
      assert.ok(current !== undefined, `${file}/${id}: ${action} is not in CURRENT_MAJORS: check its current major and add it`);
      assert.ok(Number(major) >= current, `${file}/${id}: ${step.uses} is older than v${current}`);
    }
  });

  it("sets up Node from .nvmrc and installs with npm ci before any npm run", () => {
    for (const { file, id, job } of allJobs()) {
      const steps = job.steps ?? [];
      const firstNpm = steps.findIndex((s) => /\bnpm (run|test)\b/.test(s.run ?? "") || s.uses?.startsWith("pulumi/actions@"));
      if (firstNpm < 0) continue;
      const setupNode = steps.findIndex((s) => s.uses?.startsWith("actions/setup-node@"));
      const ci = steps.findIndex((s) => s.run?.trim() === "npm ci");
      assert.ok(steps[0]?.uses?.startsWith("actions/checkout@"), `${file}/${id}: checkout first`);
      assert.ok(setupNode > 0 && setupNode < ci && ci < firstNpm, `${file}/${id}: checkout, setup-node, npm ci, then the rest`);
      assert.equal(steps[setupNode]?.with?.["node-version-file"], ".nvmrc", `${file}/${id}`);
    }
  });
});

// --- the stack's secret config keys: every job that evaluates the program gets them from the CI secret store ---

/** Keys Pulumi.yaml declares secret with no default: Pulumi refuses to run a program without a value for each. */
function requiredSecretKeys(): string[] {
  const project = parseDocument(readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")).toJS() as {
    config: Record<string, { secret?: boolean; default?: unknown }>;
  };
  return Object.entries(project.config)
    .filter(([, spec]) => spec.secret === true && spec.default === undefined)
    .map(([key]) => key)
    .sort();
}

const evaluatesProgram = (step: Step) =>
  (step.uses?.startsWith("pulumi/actions@") === true && step.with?.["command"] !== undefined) ||
  /\bpulumi\s+(preview|up|refresh|destroy)\b/.test(step.run ?? "");

/** A value taken from the CI secret store: a named secret, or the stack's one (`SLACK_X_{0}` of the stack). */
const SECRET_EXPRESSION = /^\$\{\{\s*secrets(\.[A-Z][A-Z0-9_]*|\[format\('[A-Z][A-Z0-9_]*_\{0\}',\s*(matrix|inputs)\.stack\)\])\s*\}\}$/;

interface SecretsRun {
  status: number | null;
  stderr: string;
  /** Each `pulumi config set` the script made: its arguments and the value it got on stdin. */
  sets: { args: string; stdin: string }[];
}

/** Runs a step's script with a fake `pulumi` on the PATH that records its arguments and stdin. */
function runWithFakePulumi(script: string, env: Record<string, string>): SecretsRun {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-pulumi-"));
  try {
    const log = path.join(dir, "calls.jsonl");
    writeFileSync(
      path.join(dir, "pulumi"),
      `#!/usr/bin/env node\nconst fs = require("node:fs");\nfs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args: process.argv.slice(2).join(" "), stdin: fs.readFileSync(0, "utf8") }) + "\\n");\n`,
      { mode: 0o755 },
    );
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      env: { PATH: `${dir}:${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`, ...env },
      encoding: "utf8",
    });
    const sets = existsSync(log)
      ? readFileSync(log, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { args: string; stdin: string })
      : [];
    return { status: result.status, stderr: result.stderr, sets };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What is wrong with how one job feeds the secret keys to the program; empty when nothing is. */
function secretGaps(job: Job, keys: string[]): string[] {
  const steps = job.steps ?? [];
  const firstEval = steps.findIndex(evaluatesProgram);
  if (firstEval < 0) return [];
  const setter = steps.slice(0, firstEval).find((s) => keys.every((k) => new RegExp(`pulumi config set --secret ${k}\\b`).test(s.run ?? "")));
  if (setter?.run === undefined) return [`no step before the program runs sets ${keys.join(", ")} with pulumi config set --secret`];
  const problems: string[] = [];
  const env = Object.entries(setter.env ?? {});
  const fromSecrets = env.filter(([, v]) => SECRET_EXPRESSION.test(String(v)));
  const values = Object.fromEntries(fromSecrets.map(([name], i) => [name, `value-${i}-of-${name}`]));
  // Literal values go in as written (a hard-coded secret would be set as such); other expressions are left out.
  const literals = Object.fromEntries(env.filter(([, v]) => !isExpression(v)).map(([name, v]) => [name, String(v)]));
  const base = { ...literals, STACK: "dev", ...values };
  const run = runWithFakePulumi(setter.run, base);
  if (run.status !== 0) return [`the secrets step fails with every secret present: ${run.stderr}`];
  for (const key of keys) {
    const set = run.sets.find((c) => new RegExp(`^config set --secret ${key} --stack dev$`).test(c.args));
    if (set === undefined) problems.push(`${key} is not set for the stack ($STACK)`);
    else if (!Object.values(values).includes(set.stdin)) problems.push(`${key} does not get its value from a CI secret`);
  }
  // Every secret that feeds a config key: empty, the job stops before setting anything and names the stack.
  const feeding = Object.entries(values).filter(([, value]) => run.sets.some((c) => c.stdin === value));
  for (const [name] of feeding) {
    const missing = runWithFakePulumi(setter.run, { ...base, [name]: "" });
    if (missing.status === 0) problems.push(`an empty ${name} does not stop the job`);
    else if (missing.sets.length > 0) problems.push(`an empty ${name} stops the job only after setting some config`);
    else if (!missing.stderr.includes("dev")) problems.push(`an empty ${name} is not reported with the stack's name`);
  }
  return problems;
}

describe("workflows: the stack's secrets come from the CI secret store", () => {
  const keys = requiredSecretKeys();

  it("Pulumi.yaml declares exactly the secret keys the program reads, with no default", () => {
    assert.deepEqual(keys, [...SECRET_KEYS].sort());
  });

  it("every job that evaluates the program (preview, up, drift) sets each one from a secret before it runs", () => {
    const evaluating = allJobs().filter(({ job }) => (job.steps ?? []).some(evaluatesProgram));
    assert.deepEqual(evaluating.map(({ file }) => file).sort(), ["deploy-stack.yml", "drift.yml", "pull-request.yml"]);
    for (const { file, id, job } of evaluating) assert.deepEqual(secretGaps(job, keys), [], `${file}/${id}`);
  });

  it("the check bites: a job whose secrets step is gone, or feeds a literal, or ignores an empty secret, is reported", () => {
    const preview = structuredClone(get("pull-request.yml").jobs["preview"]!);
    const index = (preview.steps ?? []).findIndex((s) => s.run?.includes("pulumi config set --secret"));
    assert.ok(index > 0);
    const withoutStep = { ...preview, steps: preview.steps!.filter((_, i) => i !== index) };
    assert.match(secretGaps(withoutStep, keys).join(), /no step before the program runs/);

    const literal = structuredClone(preview);
    literal.steps![index]!.env = { ...literal.steps![index]!.env, SLACK_WEBHOOK_URL: "hard-coded" };
    assert.match(secretGaps(literal, keys).join(), /slackWebhookUrl does not get its value from a CI secret/);

    const lenient = structuredClone(preview);
    lenient.steps![index]!.run = lenient.steps![index]!.run!.split("\n").filter((l) => !l.startsWith(": ")).join("\n");
    assert.match(secretGaps(lenient, keys).join(), /an empty SLACK_AUTH_TOKEN does not stop the job/);
  });

  it("the matrix jobs take the stack's own secrets; each stack name can end a secret name", () => {
    for (const file of ["pull-request.yml", "drift.yml"]) {
      const steps = Object.values(get(file).jobs).flatMap((j) => j.steps ?? []);
      const setter = steps.find((s) => s.run?.includes("pulumi config set --secret"));
      for (const name of ["SLACK_AUTH_TOKEN", "SLACK_WEBHOOK_URL"]) {
        assert.match(String(setter?.env?.[name]), new RegExp(`secrets\\[format\\('${name}_\\{0\\}', matrix\\.stack\\)\\]`), `${file}: ${name}`);
      }
    }
    // GitHub secret names hold letters, digits and _ only (and ignore case).
    for (const stack of stackFiles()) assert.match(stack, /^[A-Za-z0-9_]+$/, `stack ${stack} cannot end a secret name`);
  });

  it("deploy passes each stack its own secrets, and the reusable deploy requires them", () => {
    const declared = (get("deploy-stack.yml").on["workflow_call"] as { secrets: Record<string, { required?: boolean }> }).secrets;
    for (const name of ["SLACK_AUTH_TOKEN", "SLACK_WEBHOOK_URL"]) assert.equal(declared[name]?.required, true, name);
    const callers = Object.values(get("deploy.yml").jobs).filter((j) => j.uses === "./.github/workflows/deploy-stack.yml");
    assert.equal(callers.length, 3);
    for (const job of callers) {
      const stack = String(job.with?.["stack"]).toUpperCase();
      const passed = (job as Job & { secrets?: Record<string, string> }).secrets ?? {};
      for (const name of ["SLACK_AUTH_TOKEN", "SLACK_WEBHOOK_URL"]) {
        assert.match(String(passed[name]), new RegExp(`^\\$\\{\\{\\s*secrets\\.${name}_${stack}\\s*\\}\\}$`), `${stack}: ${name}`);
      }
    }
  });
});

describe("workflows: the stack matrix", () => {
  it("the listing script derives exactly the Pulumi.<stack>.yaml files (a scratch directory)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stacks-"));
    try {
      for (const stack of ["dev", "staging", "prod", "eu-prod"]) writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "config: {}\n");
      writeFileSync(path.join(dir, "Pulumi.yaml"), "name: x\n");
      writeFileSync(path.join(dir, "Pulumi.README.md"), "not a stack\n");
      const result = runListStacks(dir);
      assert.equal(result.status, 0);
      assert.deepEqual(result.stacks?.sort(), ["dev", "eu-prod", "prod", "staging"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the listing script fails when there is no stack file, rather than run an empty matrix", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stacks-"));
    try {
      assert.notEqual(runListStacks(dir).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("covers every Pulumi.<stack>.yaml of this repository", () => {
    const files = stackFiles();
    assert.ok(files.length > 0, "the repository has Pulumi.<stack>.yaml files");
    const result = runListStacks(REPO);
    assert.equal(result.status, 0);
    assert.deepEqual(result.stacks?.sort(), files);
  });

  for (const file of ["pull-request.yml", "drift.yml"]) {
    it(`${file} runs its stack matrix from the derived list`, () => {
      const jobs = get(file).jobs;
      const lister = Object.entries(jobs).find(([, job]) => job.uses === "./.github/workflows/list-stacks.yml");
      assert.ok(lister, `${file} calls list-stacks.yml`);
      const matrixJobs = Object.entries(jobs).filter(([, job]) => job.strategy?.matrix?.["stack"] !== undefined);
      assert.ok(matrixJobs.length > 0, `${file} has a stack matrix`);
      for (const [id, job] of matrixJobs) {
        assert.ok(needsOf(job).includes(lister[0]), `${file}/${id} needs ${lister[0]}`);
        assert.match(String(job.strategy?.matrix?.["stack"]), new RegExp(`fromJSON\\(needs\\.${lister[0]}\\.outputs\\.stacks\\)`));
      }
    });
  }

  it("every stack a workflow names literally exists as Pulumi.<stack>.yaml", () => {
    const files = new Set(stackFiles());
    const named = new Set<string>();
    for (const { job } of allJobs()) {
      const stack = job.with?.["stack"];
      if (typeof stack === "string" && !isExpression(stack)) named.add(stack);
    }
    for (const { step } of allSteps()) {
      const stackName = step.with?.["stack-name"];
      if (typeof stackName === "string" && !isExpression(stackName)) named.add(stackName.split("/").pop() ?? stackName);
      for (const match of (step.run ?? "").matchAll(/--stack[ =]([A-Za-z0-9_.-]+)/g)) if (match[1]) named.add(match[1]);
    }
    assert.deepEqual([...named].sort(), ["dev", "prod", "staging"]);
    for (const stack of named) assert.ok(files.has(stack), `Pulumi.${stack}.yaml exists`);
  });
});

describe("workflows: pull request", () => {
  const workflow = () => get("pull-request.yml");

  it("runs on pull requests, runs the tests and previews with the policy pack, commenting the diff", () => {
    assert.ok("pull_request" in workflow().on);
    const jobs = Object.values(workflow().jobs);
    assert.ok(jobs.some((j) => j.uses === "./.github/workflows/test.yml"), "runs the test workflow");
    const testSteps = Object.values(get("test.yml").jobs).flatMap((j) => j.steps ?? []);
    assert.ok(testSteps.some((s) => s.run?.trim() === "npm test"), "test.yml runs npm test");

    const previews = jobs.flatMap((j) => j.steps ?? []).filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.["command"] !== undefined);
    assert.equal(previews.length, 1);
    const preview = previews[0]?.with ?? {};
    assert.equal(preview["command"], "preview");
    assert.equal(preview["stack-name"], "${{ matrix.stack }}");
    assert.equal(preview["comment-on-pr"], true);
    assert.match(String(preview["github-token"]), /secrets\.GITHUB_TOKEN|github\.token/);
    assert.equal(preview["policyPacks"], "policies");
  });

  it("the policy pack it passes is a policy pack", () => {
    assert.ok(statSync(path.join(REPO, "policies")).isDirectory());
    assert.ok(existsSync(path.join(REPO, "policies", "PulumiPolicy.yaml")), "policies/PulumiPolicy.yaml");
  });

  it("the preview job may comment on the pull request", () => {
    const previewJob = Object.values(workflow().jobs).find((j) => j.steps?.some((s) => s.uses?.startsWith("pulumi/actions@")));
    assert.equal(previewJob?.permissions?.["pull-requests"], "write");
  });
});

describe("workflows: deploy", () => {
  const jobs = () => get("deploy.yml").jobs;
  const deployJobs = () => Object.entries(jobs()).filter(([, job]) => job.uses === "./.github/workflows/deploy-stack.yml");

  it("runs on push to main, after the tests, dev -> staging -> prod in sequence", () => {
    const on = get("deploy.yml").on as { push?: { branches?: string[] } };
    assert.deepEqual(on.push?.branches, ["main"]);
    const byStack = Object.fromEntries(deployJobs().map(([id, job]) => [job.with?.["stack"] as string, { id, job }]));
    assert.deepEqual(Object.keys(byStack).sort(), ["dev", "prod", "staging"]);
    assert.ok(needsOf(byStack["dev"]?.job ?? {}).some((n) => jobs()[n]?.uses === "./.github/workflows/test.yml"));
    assert.deepEqual(needsOf(byStack["staging"]?.job ?? {}), [byStack["dev"]?.id]);
    assert.deepEqual(needsOf(byStack["prod"]?.job ?? {}), [byStack["staging"]?.id]);
  });

  it("prod deploys in the protected environment `production`, and the reusable job honours it", () => {
    const prod = deployJobs().find(([, job]) => job.with?.["stack"] === "prod");
    assert.equal(prod?.[1].with?.["environment"], "production");
    const others = deployJobs().filter(([, job]) => job.with?.["stack"] !== "prod");
    for (const [, job] of others) assert.notEqual(job.with?.["environment"], "production");
    const up = Object.values(get("deploy-stack.yml").jobs)[0];
    assert.equal(up?.environment, "${{ inputs.environment }}");
  });

  it("runs pulumi up with the policy pack and moves the tag the drift report counts from", () => {
    const steps = Object.values(get("deploy-stack.yml").jobs).flatMap((j) => j.steps ?? []);
    const up = steps.find((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.["command"] !== undefined);
    assert.equal(up?.with?.["command"], "up");
    assert.equal(up?.with?.["policyPacks"], "policies");
    const upIndex = steps.indexOf(up as Step);
    const tag = steps.findIndex((s) => s.run?.includes("git push"));
    assert.ok(tag > upIndex, "tag only after a successful up");
    assert.ok(steps[tag]?.run?.includes(deployedRefFor("${STACK}")), `tags ${deployedRefFor("<stack>")}`);
  });
});

describe("workflows: drift check", () => {
  const workflow = () => get("drift.yml");
  const steps = () => Object.values(workflow().jobs).flatMap((j) => j.steps ?? []);

  it("runs daily and on demand", () => {
    const on = workflow().on as { schedule?: { cron: string }[]; workflow_dispatch?: unknown };
    assert.match(on.schedule?.[0]?.cron ?? "", /^\d+ \d+ \* \* \*$/);
    assert.ok("workflow_dispatch" in on);
  });

  it("previews with refresh and --expect-no-changes into preview.json, tolerating the non-zero exit", () => {
    const preview = steps().find((s) => /\bpulumi preview\b/.test(s.run ?? ""));
    assert.ok(preview?.run);
    for (const flag of ["--refresh", "--expect-no-changes", "--json", '--stack "$STACK"']) assert.ok(preview.run.includes(flag), flag);
    assert.match(preview.run, />\s*preview\.json/);
    assert.equal(preview["continue-on-error"], true);
  });

  it("reports with npm run -s drift (no npm banner in the JSON) and hands the exit code on", () => {
    const report = steps().find((s) => s.run?.includes("drift -- --preview preview.json"));
    assert.ok(report?.run);
    assert.match(report.run, /npm run -s drift -- --preview preview\.json --json > drift\.json/);
    assert.match(report.run, /exit-code=\$code/);
  });
});

// --- the drift-issue script, run against an in-memory GitHub ---

interface FakeIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: "open" | "closed";
  comments: string[];
}

function issueScript(): string {
  const step = Object.values(get("drift.yml").jobs)
    .flatMap((j) => j.steps ?? [])
    .find((s) => s.uses?.startsWith("actions/github-script@"));
  const script = step?.with?.["script"];
  assert.equal(typeof script, "string");
  return script as string;
}

async function runIssueScript(options: { issues: FakeIssue[]; stack: string; exitCode: number; files: Record<string, string> }) {
  const failures: string[] = [];
  const list = ({ labels, state }: { labels: string; state: string }) => ({
    data: options.issues.filter((i) => i.state === state && i.labels.includes(labels)),
  });
  const github = {
    paginate: async (fn: (p: never) => { data: unknown[] }, params: never) => fn(params).data,
    rest: {
      issues: {
        listForRepo: list,
        create: async ({ title, body, labels }: { title: string; body: string; labels: string[] }) => {
          options.issues.push({ number: options.issues.length + 1, title, body, labels, state: "open", comments: [] });
        },
        update: async ({ issue_number, body, state }: { issue_number: number; body?: string; state?: "closed" }) => {
          const issue = options.issues.find((i) => i.number === issue_number);
          assert.ok(issue);
          if (body !== undefined) issue.body = body;
          if (state !== undefined) issue.state = state;
        },
        createComment: async ({ issue_number, body }: { issue_number: number; body: string }) => {
          options.issues.find((i) => i.number === issue_number)?.comments.push(body);
        },
      },
    },
  };
  const context = { repo: { owner: "o", repo: "r" }, serverUrl: "server", runId: 7 };
  const core = { info: () => undefined, setFailed: (message: string) => failures.push(message) };
  const fakeRequire = (name: string) => {
    assert.equal(name, "node:fs");
    return { readFileSync: (file: string) => options.files[file] ?? assert.fail(`script read unknown file ${file}`) };
  };
  const saved = { STACK: process.env["STACK"], EXIT_CODE: process.env["EXIT_CODE"] };
  process.env["STACK"] = options.stack;
  process.env["EXIT_CODE"] = String(options.exitCode);
  try {
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
    await new AsyncFunction("require", "github", "context", "core", issueScript())(fakeRequire, github, context, core);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return { failures };
}

describe("workflows: the drift issue", () => {
  const driftFiles = (markdown: string) => ({
    "drift.md": markdown,
    "drift.json": JSON.stringify({ inSync: false, functions: [{ status: "code-drift" }], resources: [] }),
    "drift-stderr.txt": "",
  });

  it("opens one issue labelled drift per stack, updates it on the next drift, closes it when in sync", async () => {
    const issues: FakeIssue[] = [
      { number: 1, title: "Infrastructure drift: stack staging", body: "old", labels: ["drift"], state: "open", comments: [] },
    ];
    await runIssueScript({ issues, stack: "dev", exitCode: 1, files: driftFiles("## first") });
    await runIssueScript({ issues, stack: "dev", exitCode: 1, files: driftFiles("## second") });
    const dev = issues.filter((i) => i.title.includes("dev"));
    assert.equal(dev.length, 1, "one issue for the stack");
    assert.equal(dev[0]?.title, "Infrastructure drift: stack dev");
    assert.deepEqual(dev[0]?.labels, ["drift"]);
    assert.match(dev[0]?.body ?? "", /^## second/);

    await runIssueScript({ issues, stack: "dev", exitCode: 0, files: {} });
    assert.equal(dev[0]?.state, "closed");
    assert.match(dev[0]?.comments[0] ?? "", /in sync again/);
    assert.equal(issues.find((i) => i.number === 1)?.state, "open", "another stack's issue is untouched");
  });

  it("in sync with no open issue does nothing", async () => {
    const issues: FakeIssue[] = [];
    const { failures } = await runIssueScript({ issues, stack: "prod", exitCode: 0, files: {} });
    assert.deepEqual([issues, failures], [[], []]);
  });

  it("no report (exit 2) fails the job and says why in the issue", async () => {
    const issues: FakeIssue[] = [];
    const { failures } = await runIssueScript({
      issues,
      stack: "prod",
      exitCode: 2,
      files: { "drift-stderr.txt": "drift: no report from preview.json: not-json: the file is empty" },
    });
    assert.equal(failures.length, 1);
    assert.match(issues[0]?.body ?? "", /produced no report \(exit 2\)[\s\S]*the file is empty/);
  });
});
