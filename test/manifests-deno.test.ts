// The manifest source must watch directories under Deno too (src/ runs on Bun and Deno): a smoke run
// of test/manifests-deno/watch-smoke.ts in a Deno child process.
import { afterEach, beforeEach, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "isobar-deno-watch-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test("the manifest source follows a directory under Deno", async () => {
  writeFileSync(join(dir, "a.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n");
  const root = join(import.meta.dir, "..");
  const child = Bun.spawn([join(root, "node_modules/.bin/deno"), "run", "-A", "test/manifests-deno/watch-smoke.ts", dir], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill(), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual(["upsert a", "synced", "upsert b", "problem 3", "delete a"]);
}, 40_000);
