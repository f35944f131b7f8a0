// Draining Envoy before its pod stops (`agent envoy shutdown`, the preStop hook, like Contour's
// shutdown-manager): over Envoy's admin unix socket, POST /healthcheck/fail so load balancers stop
// sending new connections, then poll the open downstream HTTP connections until they drop to a
// threshold or a timeout passes. It never fails the hook: an unreachable Envoy is already gone.
// When done it creates the ready file that `agent envoy shutdown-manager` (Contour's pattern: Envoy's
// own preStop hook waits on it) answers `/shutdown` for.
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { consola, type ConsolaInstance } from "consola";

export interface DrainOptions {
  /** Stop waiting once open connections are at or below this (default 0). */
  minOpenConnections?: number;
  /** Give up waiting after this long (default 60 s). */
  drainTimeoutMs?: number;
  /** Time between two looks at the stats (default 5 s). */
  checkIntervalMs?: number;
  /** Wait before failing the health check (Contour's --drain-delay; default 0). */
  drainDelayMs?: number;
  /** Wait between failing the health check and the first look at the stats (Contour's --check-delay; default 0). */
  checkDelayMs?: number;
  /** A file created once done, whatever the outcome (Contour's --ready-file); none when absent. */
  readyFile?: string;
  logger?: ConsolaInstance;
}

export interface DrainResult {
  /** The POST /healthcheck/fail was answered with 200. */
  healthcheckFailed: boolean;
  /** Open connections at the last look (undefined if never read). */
  openConnections?: number;
  outcome: "drained" | "timeout" | "unreachable";
}

/** HTTP connection managers whose connections are not traffic: Envoy's admin and the stats/ready listener. */
const ignoredPrefixes = new Set(["admin", "stats"]);

export const statsQuery = `/stats?filter=${encodeURIComponent("^http\\..*\\.downstream_cx_active$")}`;

/** Sums `http.<prefix>.downstream_cx_active: N` lines of Envoy's text /stats, skipping admin and stats. */
export function openConnections(statsText: string): number {
  let total = 0;
  for (const line of statsText.split("\n")) {
    const match = /^http\.(.+)\.downstream_cx_active:\s*(\d+)\s*$/.exec(line.trim());
    if (match && !ignoredPrefixes.has(match[1]!)) total += Number(match[2]);
  }
  return total;
}

/** One request to the admin socket: status and body; rejects when the socket does not answer (within 5 s by default). */
export function adminRequest(socketPath: string, path: string, options: { method?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: options.method ?? "GET", timeout: timeoutMs }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs / 1000}s`)));
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Fails Envoy's health check and waits for its connections to drain, then creates the ready file (see the module comment). */
export async function drainEnvoy(adminSocket: string, options: DrainOptions = {}): Promise<DrainResult> {
  const log = options.logger ?? consola.withTag("envoy");
  const result = await drain(adminSocket, options, log);
  if (options.readyFile) {
    try {
      writeFileSync(options.readyFile, "");
      log.info(`created ${options.readyFile}: shutdown is complete`);
    } catch (error) {
      log.warn(`could not create the ready file ${options.readyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return result;
}

async function drain(adminSocket: string, options: DrainOptions, log: ConsolaInstance): Promise<DrainResult> {
  if (options.drainDelayMs) {
    log.info(`waiting ${options.drainDelayMs / 1000}s before draining`);
    await sleep(options.drainDelayMs);
  }
  const min = options.minOpenConnections ?? 0;
  const timeoutMs = options.drainTimeoutMs ?? 60_000;
  const intervalMs = options.checkIntervalMs ?? 5_000;
  let healthcheckFailed = false;
  try {
    const failed = await adminRequest(adminSocket, "/healthcheck/fail", { method: "POST" });
    healthcheckFailed = failed.status === 200;
    if (healthcheckFailed) log.info("Envoy's health check now fails: no new connections are sent to it");
    else log.warn(`POST /healthcheck/fail answered ${failed.status}; waiting for connections to drain anyway`);
  } catch (error) {
    log.warn(`Envoy's admin socket ${adminSocket} does not answer (${(error as Error).message}): nothing to drain`);
    return { healthcheckFailed, outcome: "unreachable" };
  }
  if (options.checkDelayMs) await sleep(options.checkDelayMs);
  const deadline = performance.now() + timeoutMs;
  let open: number | undefined;
  for (;;) {
    try {
      const stats = await adminRequest(adminSocket, statsQuery);
      if (stats.status === 200) open = openConnections(stats.body);
      else log.warn(`GET /stats answered ${stats.status}`);
    } catch (error) {
      log.info(`Envoy's admin socket stopped answering (${(error as Error).message}): Envoy is gone`);
      return { healthcheckFailed, openConnections: open, outcome: "unreachable" };
    }
    if (open !== undefined && open <= min) {
      log.info(`${open} open connections (at most ${min} wanted): drained`);
      return { healthcheckFailed, openConnections: open, outcome: "drained" };
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      log.warn(`still ${open ?? "an unknown number of"} open connections after ${Math.round(timeoutMs / 1000)}s: giving up waiting`);
      return { healthcheckFailed, openConnections: open, outcome: "timeout" };
    }
    log.info(`${open ?? "?"} open connections, waiting for at most ${min}`);
    await sleep(Math.min(intervalMs, left));
  }
}
