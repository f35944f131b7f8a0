// A fresh clone after `npm ci`: src/xds/generated/ (gitignored) is made by the install itself (the
// `prepare` script npm runs after installing), so the README's Deno command and the golden tests work
// without `npm test` having run first. The clone is a copy of the tracked files, node_modules linked.
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { readLines } from "./helpers/lines.ts";

const root = join(import.meta.dir, "..");
const clone = mkdtempSync(join(tmpdir(), "isobar-fresh-clone-"));

afterAll(() => rmSync(clone, { recursive: true, force: true }));

function run(command: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command[0]!, command.slice(1), { cwd: clone, env: { ...process.env, ...env }, encoding: "utf8", timeout: 240_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

test("after what npm ci runs, the README's Deno command and UPDATE_GOLDEN=1 golden tests work", async () => {
  const tracked = spawnSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
  for (const file of tracked) {
    if (!existsSync(join(root, file))) continue; // deleted in the work tree
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    copyFileSync(join(root, file), join(clone, file));
  }
  symlinkSync(join(root, "node_modules"), join(clone, "node_modules"));
  expect(existsSync(join(clone, "src/xds/generated"))).toBe(false);

  // The lifecycle scripts `npm ci` runs once the packages are in place, in its order.
  const { scripts } = JSON.parse(readFileSync(join(clone, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const lifecycle = ["preinstall", "install", "postinstall", "prepare"].filter((name) => scripts[name]);
  expect(lifecycle.length).toBeGreaterThan(0);
  for (const name of lifecycle) expect(run(["npm", "run", name])).toMatchObject({ code: 0 });

  const golden = run([process.execPath, "test", "test/golden.test.ts"], { UPDATE_GOLDEN: "1" });
  expect(golden.output).not.toContain("Module not found");
  expect(golden.code).toBe(0);

  // `npx deno run -A src/main.ts serve --manifests examples/quickstart --allow-loopback-endpoints`, on free ports, until it serves.
  const deno = Bun.spawn(
    [join(clone, "node_modules/.bin/deno"), "run", "-A", "src/main.ts", "serve", "--manifests", "examples/quickstart", "--allow-loopback-endpoints", "--port", "0", "--metrics-address", "127.0.0.1", "--metrics-port", "0", "--debug-port", "0"],
    { cwd: clone, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  const lines: string[] = [];
  const served = new Promise<boolean>((resolve) => {
    void readLines([deno.stdout, deno.stderr], (line) => {
      lines.push(line);
      if (line.includes("first snapshot published")) resolve(true);
    }).then(() => resolve(false));
  });
  const published = await served;
  deno.kill("SIGTERM");
  await deno.exited;
  expect({ published, output: published ? "" : lines.join("\n") }).toEqual({ published: true, output: "" });
}, 300_000);
