import { expect, test } from "bun:test";
import { shutdownAndExit } from "./lifecycle.ts";

test("exits 0 once close resolves", async () => {
  const steps: string[] = [];
  await shutdownAndExit(
    async () => {
      steps.push("closed");
    },
    { graceMs: 1000, exit: (code) => steps.push(`exit ${code}`) },
  );
  expect(steps).toEqual(["closed", "exit 0"]);
});

test("exits 0 when close throws, after saying why", async () => {
  const codes: number[] = [];
  await shutdownAndExit(() => Promise.reject(new Error("lease release failed")), { graceMs: 1000, exit: (code) => codes.push(code) });
  expect(codes).toEqual([0]);
});

test("a close that hangs past the grace period and margin is cut short: exit 0 once, not twice", async () => {
  let release!: () => void;
  const hanging = new Promise<void>((resolve) => (release = resolve));
  const codes: number[] = [];
  let exited!: () => void;
  const exitCalled = new Promise<void>((resolve) => (exited = resolve));
  const done = shutdownAndExit(() => hanging, {
    graceMs: 5,
    marginMs: 5,
    exit: (code) => {
      codes.push(code);
      exited();
    },
  });
  await exitCalled;
  release();
  await done;
  expect(codes).toEqual([0]);
});
