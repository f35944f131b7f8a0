import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { createKnownVersions } from "./server-common.ts";
import { emptySnapshot } from "./server-plan.ts";
import {
  createBodyCache,
  createRequestDecoder,
  deltaBody,
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
  nodeInfo,
  responseWithNonce,
  serializeResponse,
  sharedBody,
  sotwBody,
  withNonce,
} from "./server-wire.ts";
import { createSnapshotStore } from "./snapshot.ts";
import { emptyResourceSet, TypeUrls } from "./types.ts";
import { encodeStrict } from "./registry.ts";
import { resourceSet } from "../../test/helpers/xds-resources.ts";

function clusters() {
  const store = createSnapshotStore();
  store.publish(resourceSet(3));
  return store.resources(TypeUrls.cluster);
}

describe("response wire encoding", () => {
  test("a sotw body plus nonce is the DiscoveryResponse protobufjs would encode", () => {
    const resources = [...clusters().values()];
    const ours = withNonce(sotwBody(TypeUrls.cluster, "v1", resources), "7");
    const reference = DiscoveryResponse.encode(
      DiscoveryResponse.fromObject({
        version_info: "v1",
        resources: resources.map((r) => ({ type_url: TypeUrls.cluster, value: r.bytes })),
        type_url: TypeUrls.cluster,
        nonce: "7",
      }),
    ).finish();
    expect(DiscoveryResponse.toObject(DiscoveryResponse.decode(ours))).toEqual(DiscoveryResponse.toObject(DiscoveryResponse.decode(reference)));
    // protobufjs writes fields in number order; ours appends the nonce last. Same bytes otherwise.
    expect(ours.length).toBe(reference.length);
  });

  test("a delta body carries name, version and resource of each, and the removed names", () => {
    const resources = [...clusters().values()].slice(0, 2);
    const decoded = DeltaDiscoveryResponse.toObject(DeltaDiscoveryResponse.decode(withNonce(deltaBody(TypeUrls.cluster, "sys", resources, ["gone", "also-gone"]), "3"))) as {
      system_version_info: string;
      nonce: string;
      type_url: string;
      resources: { name: string; version: string; resource: { type_url: string; value: Uint8Array } }[];
      removed_resources: string[];
    };
    expect(decoded.system_version_info).toBe("sys");
    expect(decoded.nonce).toBe("3");
    expect(decoded.type_url).toBe(TypeUrls.cluster);
    expect(decoded.removed_resources).toEqual(["gone", "also-gone"]);
    expect(decoded.resources.map((r) => [r.name, r.version, r.resource.type_url])).toEqual(resources.map((r) => [r.name, r.version, TypeUrls.cluster]));
    expect(Buffer.from(decoded.resources[0]!.resource.value).equals(Buffer.from(resources[0]!.bytes))).toBe(true);
  });

  test("a response with its nonce frames into exactly the bytes of body plus nonce, as grpc-js copies it", () => {
    const body = sotwBody(TypeUrls.cluster, "v1", [...clusters().values()]);
    const response = responseWithNonce(body, "12");
    const joined = withNonce(body, "12");
    expect(response.byteLength).toBe(joined.length);
    // What grpc-js's serializeMessage does with what the method's serializer returns.
    const message = serializeResponse(response);
    const frame = Buffer.alloc(message.byteLength + 5);
    message.copy(frame, 5);
    expect(frame.subarray(5).equals(joined)).toBe(true);
    expect(body.equals(sotwBody(TypeUrls.cluster, "v1", [...clusters().values()]))).toBe(true);
  });

  test("each resource's fragment is built once and reused by every later response", () => {
    const resources = [...clusters().values()];
    sotwBody(TypeUrls.cluster, "v1", resources);
    const fragment = resources[0]!.wire!.sotw;
    sotwBody(TypeUrls.cluster, "v2", resources);
    expect(resources[0]!.wire!.sotw).toBe(fragment!);
  });

  test("a resource's bytes become a view into its first fragment, the same bytes; a large one's entries too, and its next version still encodes right", () => {
    const plain = [...clusters().values()];
    const before = Buffer.from(plain[0]!.bytes);
    deltaBody(TypeUrls.cluster, "v1", plain, []);
    expect(Buffer.from(plain[0]!.bytes).equals(before)).toBe(true);
    expect(plain[0]!.bytes.buffer).toBe(plain[0]!.wire!.delta!.buffer);
    sotwBody(TypeUrls.cluster, "v1", plain);
    expect(Buffer.from(plain[0]!.bytes).equals(before)).toBe(true);
    // A route configuration of many hosts is encoded per host and joined on read.
    const host = (i: number, cluster = `c${i}`) => ({ name: `h${i}`, domains: [`h${i}.example.com`], routes: [{ match: { prefix: "/" }, route: { cluster } }] });
    const config = { name: "big", virtual_hosts: Array.from({ length: 40 }, (_, i) => host(i)) };
    const store = createSnapshotStore();
    store.publish({ ...emptyResourceSet(), routes: [config] });
    const big = store.resources(TypeUrls.route).get("big")!;
    const whole = Buffer.from(encodeStrict(TypeUrls.route, config));
    const decoded = DeltaDiscoveryResponse.decode(withNonce(deltaBody(TypeUrls.route, "v1", [big], []), "1")) as unknown as { resources: { resource: { value: Uint8Array } }[] };
    expect(Buffer.from(decoded.resources[0]!.resource.value).equals(whole)).toBe(true);
    expect(big.bytes.buffer).toBe(big.wire!.delta!.buffer);
    expect(Buffer.from(big.bytes).equals(whole)).toBe(true);
    // Its next version, one host changed, reuses the other hosts' encodings (now views into the fragment).
    const next = { ...config, virtual_hosts: config.virtual_hosts.map((h, i) => (i === 7 ? host(7, "other") : h)) };
    store.publish({ ...emptyResourceSet(), routes: [next] });
    expect(Buffer.from(store.resources(TypeUrls.route).get("big")!.bytes).equals(Buffer.from(encodeStrict(TypeUrls.route, next)))).toBe(true);
  });

  test("a shared body is built once while something holds it, and kept only weakly", () => {
    const holder: { deltaBody?: WeakRef<Buffer> } = {};
    let built = 0;
    const build = () => (built++, Buffer.from("body"));
    const first = sharedBody(holder, "deltaBody", build);
    expect(sharedBody(holder, "deltaBody", build)).toBe(first);
    expect(built).toBe(1);
    expect(holder.deltaBody).toBeInstanceOf(WeakRef);
    expect(holder.deltaBody!.deref()).toBe(first);
  });

  test("the body cache shares a body per type version and key, and forgets old versions", () => {
    const cache = createBodyCache(2);
    let builds = 0;
    const build = () => (builds++, Buffer.from([builds]));
    const a = cache.get(TypeUrls.cluster, "v1", "k", build);
    expect(cache.get(TypeUrls.cluster, "v1", "k", build)).toBe(a);
    cache.get(TypeUrls.cluster, "v2", "k", build);
    expect(cache.get(TypeUrls.cluster, "v1", "k", build)).not.toBe(a);
    expect(builds).toBe(3);
  });
});

describe("known versions", () => {
  test("a client holding a whole snapshot shares it; its own changes override it", () => {
    const all = clusters();
    const known = createKnownVersions({ extra: "x" });
    expect(known.names()).toEqual(["extra"]);
    known.rebase(all);
    expect(known.names()).toEqual(["cluster-0", "cluster-1", "cluster-2"]);
    expect(known.get("cluster-1")).toBe(all.get("cluster-1")!.version);
    known.set("cluster-1", "mine");
    known.delete("cluster-2");
    known.set("new", "n");
    expect(known.get("cluster-1")).toBe("mine");
    expect(known.get("cluster-2")).toBeUndefined();
    expect(known.names().sort()).toEqual(["cluster-0", "cluster-1", "new"]);
    known.clear();
    expect(known.names()).toEqual([]);
  });

  test("the exact snapshot held: empty when nothing, the base when no own versions, none otherwise", () => {
    const all = clusters();
    const known = createKnownVersions();
    expect(known.exactBase()).toBe(emptySnapshot);
    known.rebase(all);
    expect(known.exactBase()).toBe(all);
    known.delete("cluster-0");
    expect(known.exactBase()).toBeUndefined();
    expect(createKnownVersions({ had: "v" }).exactBase()).toBeUndefined();
  });
});

describe("request decoding", () => {
  const names = Array.from({ length: 100 }, (_, i) => `default/service-${i}/80`);
  const decoder = createRequestDecoder();
  const decodeDeltaRequest = decoder.delta;
  const decodeSotwRequest = decoder.sotw;

  test("a long name list decodes as protobufjs does, and equal lists share one array", () => {
    const request = { type_url: TypeUrls.endpoint, resource_names_subscribe: names, response_nonce: "4", initial_resource_versions: { a: "1" }, node: { id: "n1" } };
    const bytes = Buffer.from(DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromObject(request)).finish());
    const first = decodeDeltaRequest(bytes);
    const reference = DeltaDiscoveryRequest.toObject(DeltaDiscoveryRequest.decode(bytes));
    expect(DeltaDiscoveryRequest.toObject(first as never)).toEqual(reference);
    expect(first.resource_names_subscribe).toEqual(names);
    const second = decodeDeltaRequest(Buffer.from(bytes));
    expect(second.resource_names_subscribe).toBe(first.resource_names_subscribe!);
    expect(nodeInfo(second.node)?.id).toBe("n1");
    const other = decodeDeltaRequest(Buffer.from(DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromObject({ ...request, resource_names_subscribe: [...names].reverse() })).finish()));
    expect(other.resource_names_subscribe).toEqual([...names].reverse());
  });

  test("a sotw ACK repeating its names shares the array; names split around other fields still decode", () => {
    const ack = (nonce: string) => Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromObject({ version_info: "v", resource_names: names, type_url: TypeUrls.endpoint, response_nonce: nonce })).finish());
    const a = decodeSotwRequest(ack("1"));
    const b = decodeSotwRequest(ack("2"));
    expect(b.resource_names).toBe(a.resource_names!);
    expect(b.response_nonce).toBe("2");
    // Field 3 written in two runs around field 4: decoded by protobufjs as it comes.
    const head = DiscoveryRequest.encode(DiscoveryRequest.fromObject({ resource_names: names.slice(0, 60) })).finish();
    const middle = DiscoveryRequest.encode(DiscoveryRequest.fromObject({ type_url: TypeUrls.endpoint })).finish();
    const tail = DiscoveryRequest.encode(DiscoveryRequest.fromObject({ resource_names: names.slice(60) })).finish();
    const split = decodeSotwRequest(Buffer.concat([head, middle, tail]));
    expect(split.resource_names).toEqual(names);
    expect(split.type_url).toBe(TypeUrls.endpoint);
  });

  test("a list over the limit is counted, not decoded; forget drops the shared lists; a long list is not kept", () => {
    const small = createRequestDecoder({ maxNames: 50, cacheBytes: 8 * 1024 });
    const request = (list: string[], nonce = "") => Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromObject({ resource_names: list, type_url: TypeUrls.endpoint, response_nonce: nonce })).finish());
    const over = small.sotw(request(names, "7"));
    expect(over).toMatchObject({ resource_names: [], tooManyNames: 100, response_nonce: "7", type_url: TypeUrls.endpoint });
    const list = names.slice(0, 50);
    const a = small.sotw(request(list));
    expect(small.sotw(request(list)).resource_names).toBe(a.resource_names!);
    small.forget();
    const b = small.sotw(request(list));
    expect(b.resource_names).toEqual(list);
    expect(b.resource_names).not.toBe(a.resource_names!);
    // Longer than a quarter of the cache: decoded every time, never kept.
    const long = Array.from({ length: 50 }, (_, i) => `${"x".repeat(60)}-${i}`);
    expect(small.sotw(request(long)).resource_names).not.toBe(small.sotw(request(long)).resource_names!);
  });
});
