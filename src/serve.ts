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

/** Resolves on the first SIGINT or SIGTERM, with the signal's name. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: string) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      log.info(`${signal} received, shutting down`);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
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
