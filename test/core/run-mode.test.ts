import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addDays,
  minutesBetween,
  parseGameDate,
  runModeFor,
  startOfLocalDay,
  todayIn,
} from "../../functions/core/run-mode.ts";

const NY = "America/New_York";
const at = (iso: string): Date => new Date(iso);

describe("run-mode: todayIn", () => {
  it("changes date at local midnight in New York (EST, UTC-5)", () => {
    assert.equal(todayIn(NY, at("2026-01-16T04:59:59.999Z")), "2026-01-15");
    assert.equal(todayIn(NY, at("2026-01-16T05:00:00.000Z")), "2026-01-16");
  });

  it("follows the spring-forward change on 2026-03-08 (EST before, EDT after)", () => {
    // 04:30Z is 23:30 EST on the 7th; 05:30Z is 00:30 EST on the 8th.
    assert.equal(todayIn(NY, at("2026-03-08T04:30:00Z")), "2026-03-07");
    assert.equal(todayIn(NY, at("2026-03-08T05:30:00Z")), "2026-03-08");
    // The next midnight is already EDT (UTC-4): 04:00Z, not 05:00Z.
    assert.equal(todayIn(NY, at("2026-03-09T03:59:59Z")), "2026-03-08");
    assert.equal(todayIn(NY, at("2026-03-09T04:00:00Z")), "2026-03-09");
  });

  it("follows the fall-back change on 2026-11-01 (EDT before, EST after)", () => {
    assert.equal(todayIn(NY, at("2026-11-01T03:59:59Z")), "2026-10-31");
    assert.equal(todayIn(NY, at("2026-11-01T04:00:00Z")), "2026-11-01");
    assert.equal(todayIn(NY, at("2026-11-02T04:59:59Z")), "2026-11-01");
    assert.equal(todayIn(NY, at("2026-11-02T05:00:00Z")), "2026-11-02");
  });

  it("judges other zones by their own offset", () => {
    const instant = at("2026-06-30T20:00:00Z");
    assert.equal(todayIn("UTC", instant), "2026-06-30");
    assert.equal(todayIn("Asia/Tokyo", instant), "2026-07-01");
    assert.equal(todayIn("Pacific/Honolulu", instant), "2026-06-30");
  });

  it("rejects an unknown zone and an invalid Date", () => {
    assert.throws(() => todayIn("Mars/Olympus_Mons", at("2026-01-01T00:00:00Z")), RangeError);
    assert.throws(() => todayIn(NY, new Date("not a date")), RangeError);
  });

  it("agrees with fixed-offset arithmetic for any instant (property)", () => {
    // Etc/GMT+5 is UTC-5 all year: the local date is the UTC date of (t - 5 h).
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }), (ms) => {
        const expected = new Date(ms - 5 * 3_600_000).toISOString().slice(0, 10);
        assert.equal(todayIn("Etc/GMT+5", new Date(ms)), expected);
      }),
    );
  });
});

describe("run-mode: runModeFor", () => {
  it("maps past, today and future to overnight, same_day and tomorrow", () => {
    const now = at("2026-01-15T17:00:00Z"); // 12:00 in New York
    assert.equal(runModeFor("2026-01-14", now, NY), "overnight");
    assert.equal(runModeFor("2025-12-31", now, NY), "overnight");
    assert.equal(runModeFor("2026-01-15", now, NY), "same_day");
    assert.equal(runModeFor("2026-01-16", now, NY), "tomorrow");
    assert.equal(runModeFor("2026-02-01", now, NY), "tomorrow");
  });

  it("turns same_day into overnight exactly at New York midnight (23:59:59 vs 00:00:00)", () => {
    assert.equal(runModeFor("2026-01-15", at("2026-01-16T04:59:59Z"), NY), "same_day");
    assert.equal(runModeFor("2026-01-15", at("2026-01-16T05:00:00Z"), NY), "overnight");
  });

  it("turns tomorrow into same_day at the local midnight of the DST days", () => {
    assert.equal(runModeFor("2026-03-08", at("2026-03-08T04:30:00Z"), NY), "tomorrow");
    assert.equal(runModeFor("2026-03-08", at("2026-03-08T05:30:00Z"), NY), "same_day");
    assert.equal(runModeFor("2026-03-08", at("2026-03-09T03:59:59Z"), NY), "same_day");
    assert.equal(runModeFor("2026-03-08", at("2026-03-09T04:00:00Z"), NY), "overnight");
    assert.equal(runModeFor("2026-11-01", at("2026-11-01T03:59:59Z"), NY), "tomorrow");
    assert.equal(runModeFor("2026-11-01", at("2026-11-01T04:00:00Z"), NY), "same_day");
    assert.equal(runModeFor("2026-11-01", at("2026-11-02T04:59:59Z"), NY), "same_day");
    assert.equal(runModeFor("2026-11-01", at("2026-11-02T05:00:00Z"), NY), "overnight");
  });

  it("uses the zone it is given, not the machine's", () => {
    const now = at("2026-01-15T20:00:00Z"); // already the 16th in Tokyo
    assert.equal(runModeFor("2026-01-15", now, NY), "same_day");
    assert.equal(runModeFor("2026-01-15", now, "Asia/Tokyo"), "overnight");
  });

  it("rejects malformed and impossible game dates", () => {
    const now = at("2026-01-15T17:00:00Z");
    for (const bad of ["2026-02-30", "2026-1-5", "20260115", "", "2026-13-01", "2026-01-15T00:00:00Z"]) {
      assert.throws(() => runModeFor(bad, now, NY), RangeError, bad);
    }
  });
});

describe("run-mode: calendar helpers", () => {
  it("parseGameDate accepts 29 February only in leap years", () => {
    assert.deepEqual(parseGameDate("2028-02-29"), { year: 2028, month: 2, day: 29 });
    assert.throws(() => parseGameDate("2026-02-29"), RangeError);
  });

  it("addDays crosses month, year and leap-day boundaries", () => {
    assert.equal(addDays("2026-01-31", 1), "2026-02-01");
    assert.equal(addDays("2026-12-31", 1), "2027-01-01");
    assert.equal(addDays("2028-02-28", 1), "2028-02-29");
    assert.equal(addDays("2026-03-01", -1), "2026-02-28");
  });

  it("startOfLocalDay finds New York midnight on ordinary and DST days", () => {
    assert.equal(startOfLocalDay("2026-01-16", NY).toISOString(), "2026-01-16T05:00:00.000Z");
    assert.equal(startOfLocalDay("2026-03-08", NY).toISOString(), "2026-03-08T05:00:00.000Z");
    assert.equal(startOfLocalDay("2026-03-09", NY).toISOString(), "2026-03-09T04:00:00.000Z");
    assert.equal(startOfLocalDay("2026-11-01", NY).toISOString(), "2026-11-01T04:00:00.000Z");
    assert.equal(startOfLocalDay("2026-11-02", NY).toISOString(), "2026-11-02T05:00:00.000Z");
  });

  it("startOfLocalDay is the first instant of that local date, in any zone (property)", () => {
    const zones = [NY, "UTC", "Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "Australia/Lord_Howe"];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2060, 0, 1) }),
        (zone, ms) => {
          const date = todayIn(zone, new Date(ms));
          const start = startOfLocalDay(date, zone);
          assert.equal(todayIn(zone, start), date);
          assert.ok(todayIn(zone, new Date(start.getTime() - 1)) < date);
          assert.ok(start.getTime() <= ms);
        },
      ),
    );
  });
});

describe("run-mode: minutesBetween", () => {
  it("measures 59:59 as under an hour and 1:00:00 as exactly 60 minutes", () => {
    assert.ok(minutesBetween("2026-01-15T10:00:00Z", "2026-01-15T10:59:59Z") < 60);
    assert.equal(minutesBetween("2026-01-15T10:00:00Z", "2026-01-15T11:00:00Z"), 60);
  });

  it("reads the publishers' microsecond timestamps and mixed offsets", () => {
    assert.equal(minutesBetween("2026-01-16T09:12:33.123456+00:00", "2026-01-16T04:42:33.123-05:00"), 30);
  });

  it("is negative when the second instant is earlier", () => {
    assert.equal(minutesBetween("2026-01-15T11:00:00Z", "2026-01-15T10:30:00Z"), -30);
  });

  it("rejects strings that are not instants", () => {
    assert.throws(() => minutesBetween("yesterday", "2026-01-15T10:00:00Z"), RangeError);
    assert.throws(() => minutesBetween("2026-01-15T10:00:00Z", ""), RangeError);
  });
});
