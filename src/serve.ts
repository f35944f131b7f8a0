// The running agent: a snapshot store and the xDS server that serves it. `agent serve` calls
// `runServe`; sources (manifest directory, Kubernetes) plug in later by publishing into the returned
// store. Until a source publishes, the store holds an empty snapshot, so clients get empty answers.
import type { ServerCredentials } from "@grpc/grpc-js";
import { consola } from "consola";
import { startXdsServer, type KeepaliveOptions, type XdsServer } from "./xds/server.ts";
import { createSnapshotStore, type SnapshotStore } from "./xds/snapshot.ts";
import { emptyResourceSet } from "./xds/types.ts";

const log = consola.withTag("serve");

export interface ServeOptions {
  address: string;
  port: number;
  credentials?: ServerCredentials;
  keepalive?: KeepaliveOptions;
  /** A store to serve; a new one, published empty, when absent. */
  store?: SnapshotStore;
}

export interface RunningAgent {
  store: SnapshotStore;
  server: XdsServer;
  /** Stops serving: ends the streams and closes the port, forcing after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export async function runServe(options: ServeOptions): Promise<RunningAgent> {
  const store = options.store ?? createSnapshotStore();
  // A given store is served as it is: unpublished, clients wait until its first publish.
  if (!options.store) store.publish(emptyResourceSet());
  const server = await startXdsServer({ store, address: options.address, port: options.port, credentials: options.credentials, keepalive: options.keepalive });
  return { store, server, close: (graceMs) => server.close(graceMs) };
}

/** Signals that stop the agent gracefully: SIGQUIT too, as "quit" (no core dump, no stack dump). */
const stopSignals = ["SIGINT", "SIGTERM", "SIGQUIT"] as const;
/**
 * Signals logged and ignored: SIGHUP (a closed terminal, or a habit of asking daemons to reload:
 * there is nothing to reload, manifests and TLS files are watched), SIGUSR1 and SIGUSR2 (no meaning
 * here). Their default action would kill the agent without a word.
 */
const ignoredSignals = ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const;

/** Resolves on the first SIGINT, SIGTERM or SIGQUIT, with the signal's name; logs and ignores SIGHUP, SIGUSR1, SIGUSR2. */
export function untilSignal(): Promise<string> {
  for (const signal of ignoredSignals) {
    process.on(signal, () => log.warn(`${signal} received and ignored (only SIGTERM, SIGINT or SIGQUIT stop the agent; manifests and TLS files are re-read on their own)`));
  }
  return new Promise((resolve) => {
    const onSignal = (signal: string) => {
      for (const s of stopSignals) process.off(s, onSignal);
      log.info(`${signal} received, shutting down`);
      resolve(signal);
    };
    for (const s of stopSignals) process.on(s, onSignal);
  });
}

/**
 * A long-running server must not die of one stray error in a callback: Envoys keep the last
 * snapshot they got, but a crash loop would stop every update. Log it (name and message only) and
 * keep serving; the metrics and logs make it visible.
 */
export function keepServingOnStrayErrors(): void {
  process.on("unhandledRejection", (reason) => log.error(`unhandled rejection, still serving: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`));
  process.on("uncaughtException", (error) => log.error(`uncaught exception, still serving: ${error.name}: ${error.message}`));
}
