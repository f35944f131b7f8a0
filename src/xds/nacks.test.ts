import { describe, expect, test } from "bun:test";
import { consola, type ConsolaReporter, type LogObject } from "consola";
import { badResources, createNackLog, type NackRecord } from "./nacks.ts";
import { TypeUrls } from "./types.ts";

const logged: LogObject[] = [];
const recorder: ConsolaReporter = { log: (entry) => void logged.push(entry) };

function nack(version: string): NackRecord {
  return {
    time: new Date(),
    stream: 1,
    nodeId: "envoy-7",
    cluster: "edge",
    typeUrl: TypeUrls.cluster,
    version,
    resourceNames: ["default/a/80", "default/b/80"],
    rejected: [{ name: "default/b/80", version: "1" }],
    errorDetail: { code: 3, message: "default/b/80: field 'x' unsupported" },
    delta: true,
  };
}

describe("NACK log", () => {
  test("keeps the most recent NACKs, tells listeners and logs node, type, version, names and reason", () => {
    const log = createNackLog({ capacity: 2, logger: consola.create({ reporters: [recorder] }).withTag("xds") });
    const heard: string[] = [];
    const stop = log.on((record) => heard.push(record.version));
    log.record(nack("v1"));
    log.record(nack("v2"));
    stop();
    log.record(nack("v3"));
    expect(log.recent().map((r) => r.version)).toEqual(["v2", "v3"]);
    expect(heard).toEqual(["v1", "v2"]);
    const line = logged.map((entry) => `${entry.tag} ${entry.type} ${entry.args.join(" ")}`)[0];
    expect(line).toBe("xds warn NACK from node envoy-7 (cluster edge) for CDS version v1 [default/a/80, default/b/80]: default/b/80: field 'x' unsupported");
  });
});

test("the log names the certificate's identity and the node id the client claimed", () => {
  logged.length = 0;
  const log = createNackLog({ logger: consola.create({ reporters: [recorder] }).withTag("xds") });
  log.record({ ...nack("v1"), nodeId: "spiffe://isobar/envoy", claimedNodeId: "someone-else" });
  expect(logged[0]!.args.join(" ")).toStartWith("NACK from node spiffe://isobar/envoy (claims node id someone-else) (cluster edge)");
});

test("which resources of a NACKed response were bad", () => {
  const sent = [{ name: "a", version: "1" }, { name: "b", version: "2" }, { name: "c", version: "3" }];
  const names = (found: { name: string }[]) => found.map((r) => r.name);
  expect(names(badResources([sent[1]!], "anything"))).toEqual(["b"]);
  expect(names(badResources(sent, "xDS response validation errors: [resource index 2: unsupported]"))).toEqual(["c"]);
  expect(names(badResources(sent, "Error adding/updating cluster(s) b: bad"))).toEqual(["b"]);
  // "a" inside "ab" or "a.b" is not a mention of "a"; then what changed since the last ACK
  const before = new Map([["a", "1"], ["b", "1"], ["c", "3"]]);
  expect(names(badResources(sent, "cluster ab and a.b failed", (name) => before.get(name)))).toEqual(["b"]);
  expect(names(badResources(sent, "failed"))).toEqual(["a", "b", "c"]);
});
