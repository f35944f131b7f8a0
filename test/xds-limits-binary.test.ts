// What one xDS client may subscribe to, against the compiled binary: a request naming more than
// 100000 resources of a type, or a delta stream subscribed to more in total, is refused with
// RESOURCE_EXHAUSTED and a message saying so; and after a burst of 16 clients subscribing with
// 200k-name lists (106 MiB of requests) the process's memory returns near where it was (issue 10).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { status as Status } from "@grpc/grpc-js";
import { TypeUrls } from "../src/xds/types.ts";
import { connectRaw, type RawClient } from "./helpers/ads-client.ts";
import { ensureAgentBinary, startServe, type RunningBinary } from "./helpers/agent-binary.ts";

setDefaultTimeout(120_000);

const quickstart = join(import.meta.dir, "../examples/quickstart");
const limit = 100_000;
let serve: RunningBinary & { port: number };
/** The agent's RSS once it serves the quickstart, before any test. */
let baseline: number;
const clients: RawClient[] = [];

const names = (count: number, prefix = "n") => Array.from({ length: count }, (_, i) => `default/service-${prefix}-${i}/80/da39a3ee5e`);
/** The agent's resident set size, in MiB. */
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${serve.process.pid}/status`, "utf8"))![1]) / 1024;

function connect(): RawClient {
  const client = connectRaw(serve.port, { channelOptions: { "grpc.max_send_message_length": -1 } });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  await ensureAgentBinary();
  serve = await startServe(["--manifests", quickstart]);
  await serve.waitForLine(/first snapshot published/);
  baseline = rssMiB();
}, 180_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await serve?.stop();
});

describe("subscription limits (compiled binary)", () => {
  test("a sotw request naming more than the limit: RESOURCE_EXHAUSTED, saying so", async () => {
    const stream = connect().sotw();
    stream.send({ node: { id: "greedy" }, type_url: TypeUrls.endpoint, resource_names: names(limit + 1) });
    const status = await stream.ended;
    expect(status.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(status.details).toBe(`too many EDS resource names: ${limit + 1}; one stream may subscribe to at most ${limit} names of a type`);
  });

  test("a delta stream subscribing past the limit in two requests: RESOURCE_EXHAUSTED; the limit itself is served", async () => {
    const exact = connect().delta();
    exact.send({ node: { id: "full" }, type_url: TypeUrls.endpoint, resource_names_subscribe: names(limit) });
    exact.send({ type_url: TypeUrls.cluster });
    expect((await exact.next()).type_url).toBe(TypeUrls.cluster);
    exact.close();

    const stream = connect().delta();
    stream.send({ node: { id: "greedy" }, type_url: TypeUrls.endpoint, resource_names_subscribe: names(60_000, "a") });
    stream.send({ type_url: TypeUrls.endpoint, resource_names_subscribe: names(60_000, "b") });
    const status = await stream.ended;
    expect(status.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(status.details).toBe(`too many EDS resource names: 120000; one stream may subscribe to at most ${limit} names of a type`);
  });

  test("after 16 clients subscribe with 200k-name lists and leave, memory returns near its baseline", async () => {
    const ended: Promise<unknown>[] = [];
    for (let c = 0; c < 16; c++) {
      const client = connect();
      const list = names(200_000, `burst-${c}`);
      const sotw = c % 2 === 0;
      const stream = sotw ? client.sotw() : client.delta();
      if (sotw) (stream as ReturnType<RawClient["sotw"]>).send({ node: { id: `burst-${c}` }, type_url: TypeUrls.endpoint, resource_names: list });
      else (stream as ReturnType<RawClient["delta"]>).send({ node: { id: `burst-${c}` }, type_url: TypeUrls.endpoint, resource_names_subscribe: list });
      ended.push(stream.ended.then((status) => expect(status.code).toBe(Status.RESOURCE_EXHAUSTED)));
    }
    await Promise.all(ended);
    for (const client of clients.splice(0)) client.close();
    // Generous: before issue 10 it stayed ~680 MiB above. Memory is given back lazily: look again
    // until it is within the bound (the test's own timeout says it never was).
    let rss = rssMiB();
    while (rss > baseline + 100) {
      await Bun.sleep(500);
      rss = rssMiB();
    }
    expect(rss).toBeLessThanOrEqual(baseline + 100);
  });
});
