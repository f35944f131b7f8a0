// Envoy as the validator's judge: the agent's own snapshot store and xDS server, in process, serving
// one real Envoy. A test publishes resource sets (built by buildResources, as `agent serve` does) and
// waits until Envoy has answered every response it was sent, ACK or NACK, and the stream is quiet.
// In process because a fuzz run feeds thousands of snapshots: no manifest files, no holdoff.
import { consola, type ConsolaInstance } from "consola";
import type { ListenerOptions } from "../../src/dag/listeners.ts";
import type { TranslateOptions } from "../../src/envoy/translate.ts";
import { createNackLog, type NackRecord } from "../../src/xds/nacks.ts";
import { installSdsScope } from "../../src/xds/sds-scope.ts";
import { startXdsServer, type XdsServer } from "../../src/xds/server.ts";
import { createSnapshotStore, type SnapshotStore } from "../../src/xds/snapshot.ts";
import { emptyResourceSet, type ResourceSet } from "../../src/xds/types.ts";
import { freePorts, startEnvoy, type EnvoyProcess } from "./harness.ts";

export interface EnvoyJudge {
  envoy: EnvoyProcess;
  store: SnapshotStore;
  server: XdsServer;
  /** The listener options (DagOptions.listeners) every set must be built with: free loopback ports. */
  listeners: ListenerOptions;
  /** The translate options every set must be built with: a free stats port, Envoy's admin socket. */
  translate: TranslateOptions;
  /** Publishes `set` and resolves, once Envoy answered all it was sent, with the NACKs it sent meanwhile. */
  load(set: ResourceSet): Promise<NackRecord[]>;
  stop(): Promise<void>;
}

export interface JudgeOptions {
  xdsMode?: "delta" | "sotw";
  /** How long the streams must stay quiet (nothing sent, nothing unanswered) to count as settled. */
  quietMs?: number;
}

export async function startEnvoyJudge(options: JudgeOptions = {}): Promise<EnvoyJudge> {
  const store = createSnapshotStore();
  installSdsScope(store);
  // Envoy finishes starting on its first (empty) answers.
  store.publish(emptyResourceSet());
  const nacks = createNackLog({ logger: silentLogger() });
  const server = await startXdsServer({ store, address: "127.0.0.1", port: 0, nacks });
  const quietMs = options.quietMs ?? 40;

  // Responses not answered yet, per stream and type; the time of the last event of any kind.
  const unanswered = new Map<string, Set<string>>();
  let lastEvent = performance.now();
  server.on((event) => {
    lastEvent = performance.now();
    const key = `${event.stream} ${event.typeUrl}`;
    if (event.kind === "response" && event.nonce) {
      const set = unanswered.get(key) ?? new Set();
      set.add(event.nonce);
      unanswered.set(key, set);
    } else if ((event.kind === "ack" || event.kind === "nack" || event.kind === "stale") && event.nonce) {
      // Answering one nonce answers every older one (sotw and delta alike).
      const set = unanswered.get(key);
      for (const nonce of set ?? []) if (Number(nonce) <= Number(event.nonce)) set!.delete(nonce);
    } else if (event.kind === "close") {
      for (const name of [...unanswered.keys()]) if (name.startsWith(`${event.stream} `)) unanswered.delete(name);
    }
  });
  const settled = async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const pending = [...unanswered.values()].some((set) => set.size > 0);
      if (!pending && performance.now() - lastEvent >= quietMs) return;
      if (Date.now() > deadline) throw new Error(`Envoy did not answer within 30 s:\n${envoy.output().split("\n").slice(-20).join("\n")}`);
      await Bun.sleep(pending ? 2 : Math.max(1, quietMs - (performance.now() - lastEvent)));
    }
  };

  const [httpPort, httpsPort, statsPort] = (await freePorts(3)) as [number, number, number];
  const envoy = await startEnvoy({ xdsPort: server.port, xdsMode: options.xdsMode });
  const listeners: ListenerOptions = { httpPort, httpsPort, address: "127.0.0.1" };
  const translate: TranslateOptions = { statsPort, address: "127.0.0.1", adminSocketPath: envoy.adminSocket };
  await envoy.ready();

  return {
    envoy,
    store,
    server,
    listeners,
    translate,
    async load(set) {
      const seen: NackRecord[] = [];
      const stop = nacks.on((nack) => seen.push(nack));
      try {
        store.publish(set);
        lastEvent = performance.now();
        await settled();
      } finally {
        stop();
      }
      return seen;
    },
    async stop() {
      await envoy.stop();
      await server.close(1000);
    },
  };
}

/** A logger that drops the NACK log's warnings: the judge reports NACKs itself. */
function silentLogger(): ConsolaInstance {
  return consola.create({ level: -999 });
}
