// The benchmark's xDS server process: publishes the bench snapshot, serves it, and on command publishes
// the next generation (one changed virtual host, one changed load assignment) or reports its memory.
//   bun bench/xds-server.ts <size>
import { consola } from "consola";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import { startXdsServer } from "../src/xds/server.ts";
import { emit, serveCommands } from "./child.ts";
import { benchResources } from "./xds-snapshot.ts";

consola.level = 1; // warnings and errors only: stdout carries the protocol
const size = Number(process.argv[2] ?? 1000);
const store = createSnapshotStore();
let generation = 0;
const initial = benchResources(size, generation);
const publishStart = performance.now();
store.publish(initial);
const publishMs = performance.now() - publishStart;
const server = await startXdsServer({ store, address: "127.0.0.1", port: 0 });
// Subscribed before any stream: called first when a publish commits, so it marks the end of the
// store's own work (encode, hash, consistency) and the start of the streams' writes.
let notifiedAt = 0;
store.subscribe(() => {
  notifiedAt = performance.now();
});

serveCommands(async (command) => {
  switch (command.cmd) {
    case "change": {
      generation++;
      const next = benchResources(size, generation);
      const start = performance.now();
      store.publish(next);
      const end = performance.now();
      return { event: "changed", generation, publishMs: end - start, storeMs: notifiedAt - start, publishedAt: performance.timeOrigin + end, notifiedAt: performance.timeOrigin + notifiedAt };
    }
    case "memory": {
      // RSS as it stands (the storm's peak may still be held by the allocator), then after a full GC.
      const before = process.memoryUsage();
      Bun.gc(true);
      const cpu = process.cpuUsage();
      return { event: "memory", ...before, rssAfterGc: process.memoryUsage().rss, cpuMs: (cpu.user + cpu.system) / 1000, streams: server.streams() };
    }
    case "exit":
      await server.close();
      process.exit(0);
  }
  return { event: "error", message: `unknown command ${String(command.cmd)}` };
});
emit({ event: "ready", port: server.port, publishMs });
