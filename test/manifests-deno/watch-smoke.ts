// Run by test/manifests-deno.test.ts under Deno: the manifest source on a directory given as argv,
// through one add, one broken file and one delete; prints what it saw as JSON and exits.
import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { createManifestSource } from "../../src/sources/manifests.ts";

const dir = process.argv[2]!;
const seen: string[] = [];
let wake = () => {};
const source = createManifestSource(dir, { coalesceMs: 20, pollIntervalMs: 0 });
await source.start({
  onEvents(events) {
    for (const event of events) seen.push(`${event.type} ${event.object.metadata.name}`);
    wake();
  },
  onSynced: () => seen.push("synced"),
  onProblem(problem) {
    seen.push(`problem ${problem.line}`);
    wake();
  },
});
async function step(change: () => void): Promise<void> {
  const next = new Promise<void>((resolve) => (wake = resolve));
  change();
  await next;
}
await step(() => writeFileSync(join(dir, "b.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"));
await step(() => writeFileSync(join(dir, "b.yaml"), "apiVersion: v1\nkind: [\n"));
await step(() => unlinkSync(join(dir, "a.yaml")));
await source.stop();
console.log(JSON.stringify(seen));
