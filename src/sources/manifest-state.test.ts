import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createManifestState } from "./manifest-state.ts";
import { isManifestFile } from "./manifest-walk.ts";
import type { SourceEvent } from "./types.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "isobar-manifests-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function svc(name: string, port = 80): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports: [{port: ${port}}]\n`;
}

function summary(events: SourceEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.object.metadata.name}${e.type === "upsert" ? ` ${e.origin?.file?.slice(dir.length + 1)}:${e.origin?.line}` : ""}`);
}

describe("manifest directory state", () => {
  test("reads .yaml, .yml and .json recursively; skips hidden files and directories and other extensions", async () => {
    mkdirSync(join(dir, "nested/deeper"), { recursive: true });
    mkdirSync(join(dir, ".hidden"));
    writeFileSync(join(dir, "a.yaml"), svc("a"));
    writeFileSync(join(dir, "nested/b.yml"), svc("b"));
    writeFileSync(join(dir, "nested/deeper/c.json"), JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "c" } }));
    writeFileSync(join(dir, ".d.yaml"), svc("d"));
    writeFileSync(join(dir, ".hidden/e.yaml"), svc("e"));
    writeFileSync(join(dir, "f.txt"), svc("f"));
    writeFileSync(join(dir, "g.yaml~"), svc("g"));
    const { events, problems } = await createManifestState(dir).scan();
    expect(problems).toEqual([]);
    expect(summary(events)).toEqual(["upsert a a.yaml:1", "upsert b nested/b.yml:1", "upsert c nested/deeper/c.json:undefined"]);
    expect(isManifestFile("x.YAML")).toBe(true);
  });

  test("follows symlinked files, as in a ConfigMap mount", async () => {
    mkdirSync(join(dir, "..data"));
    writeFileSync(join(dir, "..data/app.yaml"), svc("app"));
    symlinkSync(join(dir, "..data/app.yaml"), join(dir, "app.yaml"));
    const { events } = await createManifestState(dir).scan();
    expect(events.map((e) => e.object.metadata.name)).toEqual(["app"]);
  });

  test("an edit emits deletes for objects gone and upserts for new or changed ones, not unchanged ones", async () => {
    const file = join(dir, "m.yaml");
    writeFileSync(file, [svc("keep"), svc("change"), svc("drop")].join("---\n"));
    const state = createManifestState(dir);
    expect(summary((await state.scan()).events)).toEqual(["upsert change m.yaml:8", "upsert drop m.yaml:15", "upsert keep m.yaml:1"]);
    writeFileSync(file, [svc("keep"), svc("change", 81), svc("new")].join("---\n"));
    expect(summary((await state.scan(new Set([file]))).events)).toEqual([
      "upsert change m.yaml:8",
      "delete drop",
      "upsert new m.yaml:15",
    ]);
    expect((await state.scan(new Set([file]))).events).toEqual([]);
    unlinkSync(file);
    expect(summary((await state.scan()).events).sort()).toEqual(["delete change", "delete keep", "delete new"]);
  });

  test("a file that stops parsing keeps its last good objects, and the error is reported once", async () => {
    writeFileSync(join(dir, "good.yaml"), svc("other"));
    const file = join(dir, "m.yaml");
    writeFileSync(file, svc("web"));
    const state = createManifestState(dir);
    await state.scan();
    writeFileSync(file, "apiVersion: v1\nkind: Service\nmetadata: {name: web\n");
    const broken = await state.scan(new Set([file]));
    expect(broken.events).toEqual([]);
    expect(broken.problems).toHaveLength(1);
    expect(broken.problems[0]!.file).toBe(file);
    expect(broken.problems[0]!.line).toBeNumber();
    expect(broken.problems[0]!.message).toStartWith(`${file}:`);
    expect((await state.scan(new Set([file]))).problems).toEqual([]);
    writeFileSync(file, svc("web", 81));
    const fixed = await state.scan(new Set([file]));
    expect(summary(fixed.events)).toEqual(["upsert web m.yaml:1"]);
  });

  test("a new file that does not parse is reported and serves nothing", async () => {
    writeFileSync(join(dir, "bad.yaml"), "kind: [\n");
    writeFileSync(join(dir, "good.yaml"), svc("good"));
    const { events, problems } = await createManifestState(dir).scan();
    expect(events.map((e) => e.object.metadata.name)).toEqual(["good"]);
    expect(problems.map((p) => p.file)).toEqual([join(dir, "bad.yaml")]);
  });

  test("two files defining one object: the first keeps it, both files are named, the second takes over when freed", async () => {
    writeFileSync(join(dir, "a.yaml"), svc("web", 80));
    writeFileSync(join(dir, "b.yaml"), svc("web", 81));
    const state = createManifestState(dir);
    const first = await state.scan();
    expect(summary(first.events)).toEqual(["upsert web a.yaml:1"]);
    expect(first.problems).toHaveLength(1);
    expect(first.problems[0]!.message).toContain(join(dir, "a.yaml"));
    expect(first.problems[0]!.message).toContain(join(dir, "b.yaml"));
    expect(first.problems[0]!.file).toBe(join(dir, "b.yaml"));

    writeFileSync(join(dir, "a.yaml"), svc("web", 82)); // the owner edits: it keeps the object
    expect(summary((await state.scan(new Set([join(dir, "a.yaml")]))).events)).toEqual(["upsert web a.yaml:1"]);
    unlinkSync(join(dir, "a.yaml"));
    const freed = await state.scan();
    expect(summary(freed.events)).toEqual(["upsert web b.yaml:1"]);
    expect(freed.events[0]!.object.spec).toEqual({ ports: [{ port: 81 }] });
  });

  test("the same object twice in one file is reported; the first is kept", async () => {
    writeFileSync(join(dir, "m.yaml"), [svc("web", 80), svc("web", 81)].join("---\n"));
    const { events, problems } = await createManifestState(dir).scan();
    expect(events).toHaveLength(1);
    expect(events[0]!.object.spec).toEqual({ ports: [{ port: 80 }] });
    expect(problems[0]!.message).toBe(
      `${join(dir, "m.yaml")}:8: Service default/web is also defined at ${join(dir, "m.yaml")}:1; keeping the first, ignoring this one`,
    );
  });
});

describe("manifest directory state: links and limits", () => {
  test("symbolic links out of the directory are not followed (files and directories), reported once; links inside are", async () => {
    const outside = mkdtempSync(join(tmpdir(), "isobar-outside-"));
    try {
      writeFileSync(join(outside, "svc.yaml"), svc("outside"));
      symlinkSync(join(outside, "svc.yaml"), join(dir, "out.yaml"));
      symlinkSync(outside, join(dir, "out-dir"));
      symlinkSync(join(outside, "svc.yaml"), join(dir, "notes.txt")); // not a manifest name: ignored quietly
      mkdirSync(join(dir, "real"));
      writeFileSync(join(dir, "real/in.yaml"), svc("inside"));
      symlinkSync(join(dir, "real"), join(dir, "linked"));
      const state = createManifestState(dir);
      const first = await state.scan();
      expect(first.events.map((e) => e.object.metadata.name)).toEqual(["inside"]);
      expect(first.problems.map((p) => p.message)).toEqual([
        `${join(dir, "out-dir")}: a symbolic link to ${outside}, outside the manifest directory; not followed`,
        `${join(dir, "out.yaml")}: a symbolic link to ${join(outside, "svc.yaml")}, outside the manifest directory; not followed`,
      ]);
      expect((await state.scan()).problems).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test("a file over the size limit is not read: reported once, its last objects kept, served again when it shrinks", async () => {
    const file = join(dir, "m.yaml");
    writeFileSync(join(dir, "other.yaml"), svc("other"));
    writeFileSync(file, svc("web"));
    const state = createManifestState(dir, { maxFileBytes: 200 });
    expect((await state.scan()).events.map((e) => e.object.metadata.name)).toEqual(["other", "web"]);
    writeFileSync(file, `${svc("web", 81)}# ${"x".repeat(300)}\n`);
    const grown = await state.scan(new Set([file]));
    expect(grown.events).toEqual([]);
    expect(grown.problems.map((p) => [p.file, p.message])).toEqual([
      [file, `${file}: 382 bytes, over the 200 bytes limit for a manifest file; not read; its last objects are still served`],
    ]);
    expect((await state.scan(new Set([file]))).problems).toEqual([]);
    writeFileSync(file, svc("web", 82));
    expect(summary((await state.scan(new Set([file]))).events)).toEqual(["upsert web m.yaml:1"]);
    writeFileSync(join(dir, "new.yaml"), `${svc("new")}# ${"x".repeat(300)}\n`);
    const added = await state.scan();
    expect(added.events).toEqual([]);
    expect(added.problems.map((p) => p.file)).toEqual([join(dir, "new.yaml")]);
  });
});
