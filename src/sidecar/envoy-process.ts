// The agent's own Envoy as a child process (`agent serve --envoy`): started on a bootstrap, its log
// lines forwarded through our logger tagged `envoy`, restarted with backoff when it dies (the log
// says why), asked for its readiness over the admin socket, and on shutdown drained through that
// socket (src/observe/envoy-drain.ts, as `agent envoy shutdown` does) and then stopped.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { consola, type ConsolaInstance } from "consola";
import type { Readiness } from "../observe/http.ts";
import { adminRequest, drainEnvoy } from "../observe/envoy-drain.ts";

export const envoyLogLevels = ["trace", "debug", "info", "warning", "error", "critical", "off"] as const;
export type EnvoyLogLevel = (typeof envoyLogLevels)[number];

export interface EnvoyProcessOptions {
  binary: string;
  bootstrapPath: string;
  adminSocket: string;
  /** Envoy's working directory (the private directory). */
  cwd: string;
  logLevel: EnvoyLogLevel;
  /** Restart delays: the first, the cap, and how long a run must last to start again from the first. */
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  logger?: ConsolaInstance;
}

export interface StopOptions {
  /** How long open connections get to drain after Envoy's health check fails. */
  drainTimeoutMs: number;
  checkIntervalMs?: number;
  /** After SIGTERM, how long Envoy gets to exit before SIGKILL (default 5 s). */
  killAfterMs?: number;
}

export interface SupervisedEnvoy {
  /** The running Envoy's process id (undefined between a death and its restart). */
  pid(): number | undefined;
  /** Ready when Envoy's admin /ready says LIVE. */
  readiness(): Promise<Readiness>;
  /** Fails Envoy's health check, waits for its connections to drain, stops it; no restart after. */
  stop(options: StopOptions): Promise<void>;
}

const defaultBackoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000 };

/** Our Envoy log format: level, logger name, message; parsed back by forwardLine. */
const logFormat = "%l|%n|%v";

type Forward = (message: string) => void;

function forwarder(log: ConsolaInstance, level: string): Forward {
  switch (level) {
    case "trace":
      return (m) => log.trace(m);
    case "debug":
      return (m) => log.debug(m);
    case "info":
      return (m) => log.info(m);
    case "warning":
      return (m) => log.warn(m);
    default:
      return (m) => log.error(m);
  }
}

/** Describes how a child ended: "exited with code 1" or "was killed by SIGKILL". */
function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Starts Envoy and keeps it running until stop(). */
export function superviseEnvoy(options: EnvoyProcessOptions): SupervisedEnvoy {
  const log = options.logger ?? consola.withTag("envoy");
  const backoff = options.backoff ?? defaultBackoff;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  let failures = 0;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let notRunning = "envoy is starting";
  // Should the agent exit without stop() (a crash), its Envoy must not outlive it.
  const killOnExit = () => child?.kill("SIGKILL");
  process.on("exit", killOnExit);

  function start(): void {
    const startedAt = performance.now();
    const args = ["-c", options.bootstrapPath, "--use-dynamic-base-id", "--log-level", options.logLevel, "--log-format", logFormat];
    // Its own process group: a terminal's Ctrl-C reaches the agent, which drains Envoy, and not Envoy directly.
    const spawned = spawn(options.binary, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child = spawned;
    let lastError = "";
    for (const stream of [spawned.stdout, spawned.stderr]) {
      let forward: Forward = forwarder(log, "info");
      createInterface({ input: stream! }).on("line", (line) => {
        const match = /^(trace|debug|info|warning|error|critical)\|([^|]*)\|(.*)$/.exec(line);
        // A line without the prefix continues the message before it, at its level.
        if (match) forward = forwarder(log, match[1]!);
        const message = match ? `${match[2]}: ${match[3]}` : line;
        if (match && (match[1] === "error" || match[1] === "critical")) lastError = match[3]!;
        forward(message);
      });
    }
    let done!: () => void;
    exited = new Promise((resolve) => (done = resolve));
    let ended = false;
    const onEnd = (why: string) => {
      if (ended) return;
      ended = true;
      child = undefined;
      done();
      if (stopping) return;
      if (performance.now() - startedAt >= backoff.resetAfterMs) failures = 0;
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures);
      failures++;
      notRunning = `envoy ${why}; restarting`;
      log.warn(`Envoy ${why}${lastError ? ` (last error: ${lastError})` : ""}; restarting it in ${(delay / 1000).toFixed(1)}s`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) start();
      }, delay);
    };
    spawned.on("error", (error) => onEnd(`could not be started: ${error.message}`));
    spawned.on("exit", (code, signal) => onEnd(exitReason(code, signal)));
    if (spawned.pid !== undefined) log.info(`Envoy started (pid ${spawned.pid}): ${options.binary} ${args.join(" ")}`);
  }

  start();
  return {
    pid: () => child?.pid,
    async readiness() {
      if (!child) return { ready: false, reason: notRunning };
      try {
        const answer = await adminRequest(options.adminSocket, "/ready", { timeoutMs: 1_000 });
        const state = answer.body.trim();
        return state === "LIVE" ? { ready: true, reason: "ok" } : { ready: false, reason: `envoy is ${state || `answering ${answer.status}`}` };
      } catch (error) {
        return { ready: false, reason: `envoy's admin does not answer: ${(error as Error).message}` };
      }
    },
    async stop(stopOptions) {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const running = child;
      if (running) {
        await drainEnvoy(options.adminSocket, { drainTimeoutMs: stopOptions.drainTimeoutMs, checkIntervalMs: stopOptions.checkIntervalMs ?? 1_000, logger: log });
        if (child === running) {
          running.kill("SIGTERM");
          const killer = setTimeout(() => running.kill("SIGKILL"), stopOptions.killAfterMs ?? 5_000);
          await exited;
          clearTimeout(killer);
          log.info("Envoy stopped");
        }
      }
      process.off("exit", killOnExit);
    },
  };
}
