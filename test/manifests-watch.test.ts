// The manifest source on a real directory: files are added, edited, broken, fixed and deleted while it
// watches, and each test waits for the events that must follow (never for a fixed time).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManifestSource, type ManifestSourceOptions } from "../src/sources/manifests.ts";
import type { Source, SourceEvent, SourceProblem } from "../src/sources/types.ts";

const timeoutMs = 10_000;

function svc(name: string, port = 80): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports: [{port: ${port}}]\n`;
}

/** Records what a source delivers; `until` resolves once a condition on the record holds. */
function recorder() {
  const events: SourceEvent[] = [];
  const problems: SourceProblem[] = [];
  let synced = 0;
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  function wake() {
    for (const waiter of [...waiters]) {
      if (waiter.check()) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
  return {
    events,
    problems,
    synced: () => synced,
    handler: {
      onEvents(batch: SourceEvent[]) {
        events.push(...batch);
        wake();
      },
      onSynced() {
        synced++;
        wake();
      },
      onProblem(problem: SourceProblem) {
        problems.push(problem);
        wake();
      },
    },
    until(what: string, check: () => boolean): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    /** Waits for an event after the first `from` ones. */
    event(from: number, type: SourceEvent["type"], name: string, port?: number): Promise<void> {
      return this.until(`${type} ${name}`, () =>
        events.slice(from).some((e) => {
          if (e.type !== type || e.object.metadata.name !== name) return false;
          if (port === undefined) return true;
          return (e.object.spec as { ports: { port: number }[] }).ports[0]?.port === port;
        }),
      );
    },
  };
}

let dir: string;
let source: Source | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "isobar-watch-"));
});
afterEach(async () => {
  await source?.stop();
  source = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: ManifestSourceOptions = { coalesceMs: 20 }) {
  const record = recorder();
  source = createManifestSource(dir, options);
  await source.start(record.handler);
  return record;
}

describe.each([
  ["fs.watch, no polling", { coalesceMs: 20, pollIntervalMs: 0 }],
  ["polling only", { coalesceMs: 20, watch: false, pollIntervalMs: 30 }],
] as [string, ManifestSourceOptions][])("manifest source watching a directory (%s)", (_mode, options) => {
  test("serves the first read before onSynced, then follows edits, additions and deletions", async () => {
    writeFileSync(join(dir, "a.yaml"), svc("a"));
    const record = await start(options);
    expect(record.synced()).toBe(1);
    expect(record.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["upsert a"]);

    let mark = record.events.length;
    writeFileSync(join(dir, "a.yaml"), svc("a", 81));
    await record.event(mark, "upsert", "a", 81);

    mark = record.events.length;
    mkdirSync(join(dir, "team"));
    writeFileSync(join(dir, "team", "b.yml"), svc("b"));
    await record.event(mark, "upsert", "b");

    mark = record.events.length;
    unlinkSync(join(dir, "a.yaml"));
    await record.event(mark, "delete", "a");
    expect(record.events.slice(mark).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["delete a"]);
    expect(record.synced()).toBe(1);
  });

  test("a broken file is reported with its line and keeps serving; fixing it resumes updates", async () => {
    writeFileSync(join(dir, "web.yaml"), svc("web"));
    writeFileSync(join(dir, "other.yaml"), svc("other"));
    const record = await start(options);

    const mark = record.events.length;
    writeFileSync(join(dir, "web.yaml"), "apiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n");
    await record.until("a problem", () => record.problems.length > 0);
    expect(record.problems[0]!.file).toBe(join(dir, "web.yaml"));
    expect(record.problems[0]!.line).toBeNumber();
    expect(record.problems[0]!.message).toStartWith(`${join(dir, "web.yaml")}:`);

    writeFileSync(join(dir, "other.yaml"), svc("other", 90)); // the rest still follows edits
    await record.event(mark, "upsert", "other", 90);
    writeFileSync(join(dir, "web.yaml"), svc("web", 8080));
    await record.event(mark, "upsert", "web", 8080);
    expect(record.events.slice(mark).filter((e) => e.type === "delete")).toEqual([]);
  });

  test("an editor's truncate-then-write and write-then-rename yield the final content, no delete", async () => {
    writeFileSync(join(dir, "web.yaml"), svc("web"));
    const record = await start(options);
    let mark = record.events.length;
    writeFileSync(join(dir, "web.yaml"), "");
    writeFileSync(join(dir, "web.yaml"), svc("web", 81));
    await record.event(mark, "upsert", "web", 81);

    mark = record.events.length;
    writeFileSync(join(dir, ".web.yaml.tmp"), svc("web", 82));
    renameSync(join(dir, ".web.yaml.tmp"), join(dir, "web.yaml"));
    await record.event(mark, "upsert", "web", 82);
    expect(record.events.filter((e) => e.type === "delete")).toEqual([]);
  });
});

describe("manifest source lifecycle", () => {
  test("nothing is delivered after stop", async () => {
    writeFileSync(join(dir, "a.yaml"), svc("a"));
    const record = await start({ coalesceMs: 5, pollIntervalMs: 10 });
    // A second source on the same directory shows when the change has been seen; the stopped one stays silent.
    const witness = createManifestSource(dir, { coalesceMs: 5, pollIntervalMs: 10 });
    const seen = recorder();
    await witness.start(seen.handler);
    await source!.stop();
    const delivered = record.events.length;
    const mark = seen.events.length;
    writeFileSync(join(dir, "a.yaml"), svc("a", 99));
    writeFileSync(join(dir, "b.yaml"), svc("b"));
    await seen.event(mark, "upsert", "a", 99);
    await seen.event(mark, "upsert", "b");
    await witness.stop();
    expect(record.events.length).toBe(delivered);
  });

  test("start fails clearly on a directory that does not exist", async () => {
    const missing = createManifestSource(join(dir, "nope"));
    await expect(missing.start(recorder().handler)).rejects.toThrow(`manifest directory ${join(dir, "nope")} does not exist`);
  });
});
