import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifests } from "./manifests.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "isobar-load-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("loadManifests", () => {
  test("one read of a directory: objects with their origin, and every problem", async () => {
    writeFileSync(join(dir, "ok.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n");
    writeFileSync(join(dir, "bad.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: [x}\n");
    const { objects, problems } = await loadManifests(dir);
    expect(objects).toEqual([
      {
        object: { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" } },
        origin: { source: "manifests", file: join(dir, "ok.yaml"), line: 1 },
      },
    ]);
    expect(problems.map((p) => [p.file, p.line])).toEqual([[join(dir, "bad.yaml"), 3]]);
  });

  test("a single file works as well as a directory", async () => {
    const file = join(dir, "one.yml");
    writeFileSync(file, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n");
    const { objects } = await loadManifests(file);
    expect(objects.map((o) => o.object.metadata.name)).toEqual(["web"]);
  });

  test("a missing path is an error naming it", async () => {
    await expect(loadManifests(join(dir, "missing"))).rejects.toThrow(join(dir, "missing"));
  });
});
