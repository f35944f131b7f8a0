// The fake API server as a benchmark's child process: `bun test/fake-apiserver/serve.ts <apps>
// <tlsSecrets> <unrelatedSecrets> <unrelatedKiB> <helmReleases>` fills it with the dataset, writes
// {"event":"ready", kubeconfigPath, counts} and answers commands on stdin (bench/child.ts protocol):
// memory, reset (clear statuses, optionally delete the unrelated Secrets), statusCount, exit.
import { emit, serveCommands } from "../../bench/child.ts";
import { generateDataset } from "./dataset.ts";
import { startFakeApiServer } from "./index.ts";

const [apps, tlsSecrets, unrelatedSecrets, unrelatedKiB, helmReleases] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const api = await startFakeApiServer({ logBodies: false, bookmarkIntervalMs: 60_000 });
const counts: Record<string, number> = {};
await generateDataset({ apps, tlsSecrets, unrelatedSecrets, unrelatedKiB, helmReleases }, (object) => {
  api.create(object);
  counts[object.kind] = (counts[object.kind] ?? 0) + 1;
});
serveCommands((command) => {
  switch (command.cmd) {
    case "memory":
      return { event: "memory", rss: process.memoryUsage().rss };
    case "reset": {
      // Back to the state before the first agent ran, minus the unrelated Secrets if asked.
      let deleted = 0;
      if (command.deleteUnrelated) {
        for (const secret of api.list("Secret")) {
          if (secret.metadata.labels?.unrelated !== "true") continue;
          api.delete("Secret", secret.metadata.namespace, secret.metadata.name);
          deleted++;
        }
      }
      for (const kind of ["Ingress", "HTTPProxy"]) {
        for (const object of api.list(kind)) if (object.status !== undefined) api.setStatus(kind, object.metadata.namespace, object.metadata.name, {});
      }
      api.compact();
      api.requests.length = 0;
      return { event: "reset", deleted };
    }
    case "statusCount": {
      const withStatus = api.list("Ingress").filter((i) => (i.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress?.length).length;
      return { event: "statusCount", withStatus, statusWrites: api.requests.filter((r) => r.subresource === "status").length };
    }
    case "exit":
      void api.close().then(() => process.exit(0));
      return { event: "bye" };
    default:
      return { event: "error", message: `unknown command ${String(command.cmd)}` };
  }
});
emit({ event: "ready", kubeconfigPath: api.kubeconfigPath, counts, rss: process.memoryUsage().rss });
