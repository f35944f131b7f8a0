import { describe, expect, test } from "bun:test";
import { consola, type ConsolaReporter, type LogObject } from "consola";
import { createNackLog, type NackRecord } from "./nacks.ts";
import { TypeUrls } from "./types.ts";

const logged: LogObject[] = [];
const recorder: ConsolaReporter = { log: (entry) => void logged.push(entry) };

function nack(version: string): NackRecord {
  return {
    time: new Date(),
    nodeId: "envoy-7",
    cluster: "edge",
    typeUrl: TypeUrls.cluster,
    version,
    resourceNames: ["default/a/80", "default/b/80"],
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
