// `npm ci && npm test` must work on a fresh machine: npm ci refuses a lock that lacks any optional
// platform package, and npm itself drops those the registry does not serve.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { completeLock } from "../scripts/complete-lock.ts";

test("the lock lists every optional platform package (else: bun scripts/complete-lock.ts)", () => {
  const lock = JSON.parse(readFileSync(join(import.meta.dir, "../package-lock.json"), "utf8"));
  expect(completeLock(lock)).toEqual([]);
});

test("completeLock adds a stub with os and cpu for a missing platform package", () => {
  const lock = { packages: { "": {}, "node_modules/tool": { version: "1.0.0", dev: true, optionalDependencies: { "@tool/darwin-arm64": "1.0.0", "@tool/linux-x64-glibc": "1.0.0" } }, "node_modules/@tool/linux-x64-glibc": { version: "1.0.0" } } };
  expect(completeLock(lock)).toEqual(["@tool/darwin-arm64@1.0.0"]);
  expect(lock.packages["node_modules/@tool/darwin-arm64" as keyof typeof lock.packages]).toEqual({ version: "1.0.0", cpu: ["arm64"], dev: true, license: "MIT", optional: true, os: ["darwin"] } as never);
});
