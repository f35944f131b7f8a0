// Test setup for the xDS server: a store, a server on an ephemeral port, a raw client, and a way to
// wait for a server event (a request processed, an ACK, a NACK, a stream closed) instead of sleeping.
import { createSnapshotStore, type SnapshotStore } from "../../src/xds/snapshot.ts";
import { startXdsServer, type XdsServer, type XdsServerOptions } from "../../src/xds/server.ts";
import type { XdsEvent } from "../../src/xds/server-common.ts";
import type { ResourceSet } from "../../src/xds/types.ts";
import { connectRaw, type RawClient } from "./ads-client.ts";

export interface TestXds {
  store: SnapshotStore;
  server: XdsServer;
  client: RawClient;
  /** Resolves with the first event from now on that matches. Call before the action that causes it. */
  nextEvent(match: (event: XdsEvent) => boolean): Promise<XdsEvent>;
  close(): Promise<void>;
}

export async function startTestXds(set?: ResourceSet, options: Partial<XdsServerOptions> = {}): Promise<TestXds> {
  const store = options.store ?? createSnapshotStore();
  if (set) store.publish(set);
  const server = await startXdsServer({ address: "127.0.0.1", port: 0, ...options, store });
  const client = connectRaw(server.port);
  return {
    store,
    server,
    client,
    nextEvent: (match) => waitForEvent(server, match),
    async close() {
      client.close();
      await server.close(1000);
    },
  };
}

export function waitForEvent(server: XdsServer, match: (event: XdsEvent) => boolean): Promise<XdsEvent> {
  return new Promise((resolve) => {
    const stop = server.on((event) => {
      if (!match(event)) return;
      stop();
      resolve(event);
    });
  });
}
