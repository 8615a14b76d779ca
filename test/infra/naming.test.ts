import assert from "node:assert/strict";
import fc from "fast-check";
import { childLogicalName, codeHashLabel, labelValue, Naming, NamingError, pushSubscriptionName } from "../../infra/naming.ts";

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

describe("infra/naming", () => {
  it("code-hash label: a valid label value and a prefix of the full hash", () => {
    fc.assert(
      fc.property(hex64, (sha) => {
        const label = codeHashLabel(sha);
        assert.ok(sha.startsWith(label));
        assert.equal(label.length, 63);
        assert.equal(labelValue(label), label);
      }),
    );
  });

  it("code-hash label refuses anything but a sha256 hex digest", () => {
    for (const bad of ["", "ABC", "a".repeat(63), "g".repeat(64), "a".repeat(65)]) {
      assert.throws(() => codeHashLabel(bad), NamingError);
    }
  });

  it("service account ids fit 6..30 characters or fail naming the id", () => {
    const naming = new Naming({ project: "demo-project", environment: "dev" });
    assert.equal(naming.serviceAccountId("phase2-to-phase3", "push"), "phase2-to-phase3-push");
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,40}[a-z0-9]$/), fc.constantFrom("fn", "push", "sched") as fc.Arbitrary<"fn" | "push" | "sched">, (base, role) => {
        const id = `${base}-${role}`;
        if (id.length >= 6 && id.length <= 30) assert.equal(naming.serviceAccountId(base, role), id);
        else assert.throws(() => naming.serviceAccountId(base, role), (e: Error) => e instanceof NamingError && e.message.includes(id));
      }),
    );
  });

  it("child logical names are the parent's name then the role; distinct roles give distinct names", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (parent, a, b) => {
        fc.pre(a !== b);
        assert.ok(childLogicalName(parent, a).startsWith(`${parent}-`));
        assert.notEqual(childLogicalName(parent, a), childLogicalName(parent, b));
      }),
    );
  });

  it("bucket names carry the project and stay within 63 characters", () => {
    const naming = new Naming({ project: "nba-props-platform", environment: "prod" });
    assert.equal(naming.bucketName("function-sources"), "nba-props-platform-function-sources");
    assert.throws(() => new Naming({ project: "p".repeat(50), environment: "dev" }).bucketName("function-sources"), NamingError);
  });

  it("Pub/Sub names: the emulator's and the API's limits", () => {
    const naming = new Naming({ project: "demo-project", environment: "dev" });
    assert.throws(() => naming.pubsub("ab"), NamingError);
    assert.throws(() => naming.pubsub("goog-topic"), NamingError);
    assert.equal(naming.pubsub(pushSubscriptionName("nba-phase2-raw-complete")), "nba-phase2-raw-complete-push-sub");
  });

  it("labels are checked", () => {
    const naming = new Naming({ project: "demo-project", environment: "Dev" });
    assert.throws(() => naming.labels(), NamingError);
  });
});
