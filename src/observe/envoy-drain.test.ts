import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola, type LogObject } from "consola";
import { fakeEnvoyAdmin } from "../../test/helpers/fake-envoy-admin.ts";
import { drainEnvoy, openConnections } from "./envoy-drain.ts";

function recordingLogger() {
  const lines: string[] = [];
  const logger = createConsola({ level: 5, reporters: [{ log: (o: LogObject) => void lines.push(`${o.type} ${o.args.join(" ")}`) }] });
  return { logger, lines };
}

let dir: string;
let server: Server | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "isobar-drain-"));
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

test("openConnections sums HTTP connection managers but not admin or the stats listener", () => {
  expect(openConnections("http.admin.downstream_cx_active: 1\nhttp.ingress_http.downstream_cx_active: 4\nhttp.ingress_https.downstream_cx_active: 3\nhttp.stats.downstream_cx_active: 9\nhttp.ingress_http.downstream_cx_total: 100\n")).toBe(7);
  expect(openConnections("")).toBe(0);
});

test("fails the health check first, then polls until connections drain to the threshold", async () => {
  const socket = join(dir, "admin.sock");
  const fake = await fakeEnvoyAdmin(socket, [5, 3, 1, 0]);
  server = fake.server;
  const { logger, lines } = recordingLogger();
  const result = await drainEnvoy(socket, { checkIntervalMs: 1, drainTimeoutMs: 10_000, logger });
  expect(result).toEqual({ healthcheckFailed: true, openConnections: 0, outcome: "drained" });
  expect(fake.requests[0]).toBe("POST /healthcheck/fail");
  expect(fake.requests.slice(1).every((r) => r.startsWith("GET /stats?filter="))).toBe(true);
  expect(fake.requests.length).toBe(5);
  expect(lines.at(-1)).toBe("info 0 open connections (at most 0 wanted): drained");
});

test("stops at --min-open-connections", async () => {
  const socket = join(dir, "admin.sock");
  const fake = await fakeEnvoyAdmin(socket, [9, 4, 1, 0]);
  server = fake.server;
  const result = await drainEnvoy(socket, { checkIntervalMs: 1, minOpenConnections: 8, logger: recordingLogger().logger });
  expect(result).toMatchObject({ outcome: "drained", openConnections: 8 });
  expect(fake.requests.length).toBe(3);
});

test("gives up after the drain timeout, still without failing", async () => {
  const socket = join(dir, "admin.sock");
  const fake = await fakeEnvoyAdmin(socket, [2]);
  server = fake.server;
  const { logger, lines } = recordingLogger();
  const result = await drainEnvoy(socket, { checkIntervalMs: 5, drainTimeoutMs: 30, logger });
  expect(result).toMatchObject({ outcome: "timeout", openConnections: 4, healthcheckFailed: true });
  expect(lines.at(-1)).toBe("warn still 4 open connections after 0s: giving up waiting");
});

test("an admin socket nobody listens on means Envoy is gone: nothing to drain", async () => {
  const { logger, lines } = recordingLogger();
  const result = await drainEnvoy(join(dir, "missing.sock"), { checkIntervalMs: 1, logger });
  expect(result).toEqual({ healthcheckFailed: false, outcome: "unreachable" });
  expect(lines[0]).toStartWith(`warn Envoy's admin socket ${join(dir, "missing.sock")} does not answer`);
});
