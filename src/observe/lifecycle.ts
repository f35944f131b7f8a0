// The end of `agent serve`: after SIGTERM, run the agent's close (not ready, no more input, xDS
// streams ended and new ones refused, in-flight writes flushed or cut after the grace period, Lease
// released, metrics and debug servers closed), then exit 0. A close that hangs past the grace period
// plus a margin is cut short: the process exits anyway, saying so, so Kubernetes never waits on it.
import { consola } from "consola";
import { flushLogs } from "./log.ts";

const log = consola.withTag("serve");

/** Margin after the grace period for what follows the xDS server's close (Lease release, servers). */
export const shutdownMarginMs = 2_000;

/** Runs `close`, bounded by `graceMs` + margin, then exits the process with code 0. */
export async function shutdownAndExit(close: () => Promise<void>, options: { graceMs: number; marginMs?: number; exit?: (code: number) => void }): Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const boundMs = options.graceMs + (options.marginMs ?? shutdownMarginMs);
  let exited = false;
  const started = performance.now();
  const watchdog = setTimeout(() => {
    exited = true;
    log.warn(`shutdown did not finish within ${(boundMs / 1000).toFixed(1)}s, exiting now`);
    flushLogs();
    exit(0);
  }, boundMs);
  try {
    await close();
    log.info(`stopped in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    log.error(`shutdown: ${(error as Error).message}`);
  } finally {
    clearTimeout(watchdog);
  }
  if (exited) return;
  flushLogs();
  exit(0);
}
