import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { createSnapshotStore, SnapshotInconsistentError } from "./snapshot.ts";
import { encodeStrict, lookupType } from "./registry.ts";
import { emptyResourceSet, typeInfo, TypeUrls, type ResourceSet } from "./types.ts";
import { encodeResource, encodeVariant } from "./resource-encoding.ts";
import { entryIndexOf } from "./entry-index.ts";
import { edsCluster, listener, loadAssignment, resourceSet, route, secret } from "../../test/helpers/xds-resources.ts";

function inconsistency(set: ResourceSet): string[] {
  const store = createSnapshotStore();
  try {
    store.publish(set);
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotInconsistentError);
    return (error as SnapshotInconsistentError).dangling;
  }
  throw new Error("publish accepted an inconsistent set");
}

describe("snapshot store", () => {
  test("serves nothing before the first publish, then every type with a version", () => {
    const store = createSnapshotStore();
    expect(store.published).toBe(false);
    expect(store.version(TypeUrls.cluster)).toBe("");
    const result = store.publish(resourceSet(2));
    expect(store.published).toBe(true);
    expect(result.changedTypes).toEqual(new Set(Object.values(TypeUrls)));
    expect(store.version(TypeUrls.cluster)).toMatch(/^[0-9a-f]{16}$/);
    expect([...store.resources(TypeUrls.endpoint).keys()]).toEqual(["cluster-0", "cluster-1"]);
  });

  test("encodes each resource once: unchanged resources keep their version and their bytes", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(2));
    const before = store.resources(TypeUrls.cluster);
    const set = resourceSet(2);
    set.clusters[1] = edsCluster("cluster-1", { timeout: "2s" });
    const result = store.publish(set);
    const after = store.resources(TypeUrls.cluster);
    expect(after.get("cluster-0")!.bytes).toBe(before.get("cluster-0")!.bytes);
    expect(after.get("cluster-0")!.version).toBe(before.get("cluster-0")!.version);
    expect(after.get("cluster-1")!.version).not.toBe(before.get("cluster-1")!.version);
    expect(result.changedTypes).toEqual(new Set([TypeUrls.cluster]));
    const decoded = lookupType(TypeUrls.cluster).decode(after.get("cluster-1")!.bytes) as unknown as { connect_timeout: { seconds: number } };
    expect(Number(decoded.connect_timeout.seconds)).toBe(2);
  });

  test("a resource's version is a hash of its content, not of how its JSON was written", () => {
    const a = createSnapshotStore();
    const b = createSnapshotStore();
    a.publish({ ...emptyResourceSet(), clusters: [{ name: "c", type: "STATIC", connect_timeout: "1s" }] });
    b.publish({ ...emptyResourceSet(), clusters: [{ connect_timeout: "1s", type: "STATIC", name: "c" }] });
    expect(a.resources(TypeUrls.cluster).get("c")!.version).toBe(b.resources(TypeUrls.cluster).get("c")!.version);
    expect(a.version(TypeUrls.cluster)).toBe(b.version(TypeUrls.cluster));
  });

  test("a route config of many virtual hosts encodes to the bytes of encoding it whole, before and after one host changes", () => {
    const store = createSnapshotStore();
    const hosts = (timeout: string) =>
      Array.from({ length: 40 }, (_, i) => ({ name: `vh-${i}`, domains: [`h${i}.example.com`], routes: [{ match: { prefix: "/" }, route: { cluster: "cluster-0", timeout: i === 7 ? timeout : "15s" } }] }));
    const publish = (timeout: string) => {
      const set = resourceSet(1);
      const config = { name: "big", virtual_hosts: hosts(timeout), validate_clusters: false };
      set.routes.push(config);
      store.publish(set);
      const bytes = store.resources(TypeUrls.route).get("big")!.bytes;
      expect(Buffer.from(bytes).equals(Buffer.from(encodeStrict(TypeUrls.route, config)))).toBe(true);
      return store.resources(TypeUrls.route).get("big")!;
    };
    const first = publish("1s");
    const second = publish("2s");
    expect(second.version).not.toBe(first.version);
    // Encoded per host (entry-index.ts): the 39 unchanged hosts (equal JSON, other objects) are not
    // encoded again; the same objects are found without comparing their content.
    const encodedHosts = (json: object) => entryIndexOf(encodeVariant(TypeUrls.route, json, second))!.encoded;
    expect(encodedHosts({ name: "big", virtual_hosts: hosts("3s"), validate_clusters: false })).toBe(1);
    const json = second.json as { virtual_hosts: object[] };
    const sameObjects = { ...json, virtual_hosts: json.virtual_hosts.map((vhost, i) => (i === 7 ? { ...vhost, name: "vh-7b" } : vhost)) };
    expect(encodedHosts(sameObjects)).toBe(1);
  });

  test("a large resource made anew of the very entries it had: the same bytes and version, not joined again; a changed field around them is encoded", () => {
    const info = typeInfo(TypeUrls.route)!;
    const virtual_hosts = Array.from({ length: 40 }, (_, i) => ({ name: `vh-${i}`, domains: [`h${i}`], routes: [] as object[] }));
    const first = encodeResource(info, { name: "big", virtual_hosts, validate_clusters: false });
    const before = { name: "big", version: "v", bytes: first.bytes, json: {}, entries: first.entries };
    const again = encodeResource(info, { name: "big", virtual_hosts: [...virtual_hosts], validate_clusters: false }, { before });
    expect(again.bytes).toBe(first.bytes);
    const reordered = encodeResource(info, { name: "big", virtual_hosts: [...virtual_hosts].reverse(), validate_clusters: false }, { before });
    const around = encodeResource(info, { name: "big", virtual_hosts: [...virtual_hosts], validate_clusters: true }, { before });
    for (const [encoded, json] of [
      [reordered, { name: "big", virtual_hosts: [...virtual_hosts].reverse(), validate_clusters: false }],
      [around, { name: "big", virtual_hosts, validate_clusters: true }],
    ] as const) {
      expect(encoded.bytes).not.toBe(first.bytes);
      expect(Buffer.from(encoded.bytes).equals(Buffer.from(encodeStrict(lookupType(info.typeUrl), json)))).toBe(true);
    }
  });

  test("a large resource with one entry that does not encode is refused, naming it", () => {
    const set = resourceSet(1);
    const virtual_hosts = Array.from({ length: 40 }, (_, i) => ({ name: `vh-${i}`, domains: [`h${i}`], routes: [] as object[] }));
    (virtual_hosts[3] as Record<string, unknown>).domainz = ["typo"];
    set.routes.push({ name: "big", virtual_hosts });
    expect(inconsistency(set).join("\n")).toContain("RDS resource big does not encode");
  });

  test("refuses a listener naming a route config that does not exist", () => {
    const set = resourceSet(1);
    set.routes = [];
    expect(inconsistency(set)).toEqual(["LDS listener-0 names route config route-0, which does not exist"]);
  });

  test("refuses an EDS cluster without its load assignment, by service_name or by name", () => {
    const set = resourceSet(2);
    set.clusters.push({ name: "svc", type: "EDS", eds_cluster_config: { service_name: "svc/eds", eds_config: { ads: {} } } });
    set.endpoints.pop();
    expect(inconsistency(set)).toEqual([
      "CDS cluster-1 names EDS load assignment cluster-1, which does not exist",
      "CDS svc names EDS load assignment svc/eds, which does not exist",
    ]);
  });

  test("refuses an SDS secret that does not exist; accepts it once published alongside", () => {
    const set = resourceSet(1);
    set.listeners = [listener("listener-0", "route-0", { secret: "tls/cert" })];
    expect(inconsistency(set)).toEqual(["LDS listener-0 names SDS secret tls/cert, which does not exist"]);
    set.secrets = [secret("tls/cert")];
    expect(createSnapshotStore().publish(set).changedTypes.has(TypeUrls.secret)).toBe(true);
  });

  test("refuses duplicate names, nameless resources and unknown fields", () => {
    const set = resourceSet(1);
    set.clusters.push(edsCluster("cluster-0"));
    set.routes.push({ virtual_hosts: [] });
    set.secrets.push({ name: "s", tls_certificat: {} });
    expect(inconsistency(set)).toEqual([
      "CDS resource cluster-0 appears twice",
      "RDS resource without a name",
      expect.stringContaining("SDS resource s does not encode: Secret.tls_certificat: no such field"),
    ]);
  });

  test("publishing is atomic: a refused set leaves the previous one in place and tells nobody", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(2));
    const version = store.version(TypeUrls.cluster);
    let notified = 0;
    store.subscribe(() => notified++);
    const bad = resourceSet(3);
    bad.endpoints = [];
    expect(() => store.publish(bad)).toThrow(SnapshotInconsistentError);
    expect(store.version(TypeUrls.cluster)).toBe(version);
    expect(store.resources(TypeUrls.cluster).size).toBe(2);
    expect(notified).toBe(0);
  });

  test("subscribers hear which types changed, and stop hearing once unsubscribed", () => {
    const store = createSnapshotStore();
    const heard: string[][] = [];
    const stop = store.subscribe((changed) => heard.push([...changed]));
    store.publish(resourceSet(1));
    store.publish(resourceSet(1));
    const set = resourceSet(1, { routeDomain: "example.com" });
    store.publish(set);
    expect(store.subscriberCount()).toBe(1);
    stop();
    expect(store.subscriberCount()).toBe(0);
    store.publish(resourceSet(2));
    expect(heard.length).toBe(2);
    expect(new Set(heard[0])).toEqual(new Set(Object.values(TypeUrls)));
    // A changed host of a route config is also a changed VHDS resource (vhds.ts).
    expect(heard[1]).toEqual([TypeUrls.route, TypeUrls.virtualHost]);
  });

  test("updateEndpoints changes only the named load assignments", () => {
    const store = createSnapshotStore();
    store.publish({ ...resourceSet(2), endpoints: [...resourceSet(2).endpoints, loadAssignment("spare")] });
    const clusterVersion = store.version(TypeUrls.cluster);
    const before = store.resources(TypeUrls.endpoint);
    const heard: string[][] = [];
    store.subscribe((changed) => heard.push([...changed]));
    store.updateEndpoints([loadAssignment("cluster-1", [9001, 9002])], ["spare"]);
    const after = store.resources(TypeUrls.endpoint);
    expect(heard).toEqual([[TypeUrls.endpoint]]);
    expect(store.version(TypeUrls.cluster)).toBe(clusterVersion);
    expect(after.get("cluster-0")).toBe(before.get("cluster-0")!);
    expect(after.get("cluster-1")!.version).not.toBe(before.get("cluster-1")!.version);
    expect(after.has("spare")).toBe(false);
    expect(() => store.updateEndpoints([], ["cluster-0"])).toThrow("CDS cluster-0 names EDS load assignment cluster-0, which does not exist");
    expect(store.resources(TypeUrls.endpoint).has("cluster-0")).toBe(true);
  });

  test("a type's version ignores resource order, changes with any resource, and comes back with the content", () => {
    const store = createSnapshotStore();
    const set = resourceSet(4);
    store.publish(set);
    const first = store.version(TypeUrls.endpoint);
    store.publish({ ...set, endpoints: [...set.endpoints].reverse(), clusters: [...set.clusters].reverse() });
    expect(store.version(TypeUrls.endpoint)).toBe(first);
    const changed = { ...set, endpoints: set.endpoints.map((la, i) => (i === 2 ? loadAssignment("cluster-2", [9100]) : la)) };
    expect(store.publish(changed).changedTypes).toEqual(new Set([TypeUrls.endpoint]));
    const second = store.version(TypeUrls.endpoint);
    expect(second).not.toBe(first);
    store.publish(set);
    expect(store.version(TypeUrls.endpoint)).toBe(first);
    // Two names swapping their content is a change too (each resource's bytes hold its name).
    const swapped = createSnapshotStore();
    const a = { ...resourceSet(2), endpoints: [loadAssignment("cluster-0", [1]), loadAssignment("cluster-1", [2])] };
    swapped.publish(a);
    const before = swapped.version(TypeUrls.endpoint);
    swapped.publish({ ...a, endpoints: [loadAssignment("cluster-0", [2]), loadAssignment("cluster-1", [1])] });
    expect(swapped.version(TypeUrls.endpoint)).not.toBe(before);
  });

  test("updateEndpoints keeps the type's version equal to a full publish of the same content", () => {
    const incremental = createSnapshotStore();
    const set = { ...resourceSet(3), endpoints: [...resourceSet(3).endpoints, loadAssignment("spare")] };
    incremental.publish(set);
    incremental.updateEndpoints([loadAssignment("cluster-1", [9001]), loadAssignment("extra", [7])], ["spare"]);
    const full = createSnapshotStore();
    full.publish({ ...resourceSet(3), endpoints: [loadAssignment("extra", [7]), loadAssignment("cluster-2"), loadAssignment("cluster-1", [9001]), loadAssignment("cluster-0")] });
    expect(incremental.version(TypeUrls.endpoint)).toBe(full.version(TypeUrls.endpoint));
    expect(incremental.version(TypeUrls.cluster)).toBe(full.version(TypeUrls.cluster));
    // The same content again changes nothing and tells nobody.
    let heard = 0;
    incremental.subscribe(() => heard++);
    const version = incremental.version(TypeUrls.endpoint);
    incremental.updateEndpoints([loadAssignment("cluster-1", [9001])]);
    expect(incremental.version(TypeUrls.endpoint)).toBe(version);
    expect(heard).toBe(0);
  });

  test("changedSince names what the last change of a type touched, only from the map it replaced", () => {
    const store = createSnapshotStore();
    store.publish({ ...resourceSet(3), endpoints: [...resourceSet(3).endpoints, loadAssignment("spare")] });
    const clusters = store.resources(TypeUrls.cluster);
    const before = store.resources(TypeUrls.endpoint);
    store.updateEndpoints([loadAssignment("cluster-1", [9001])], ["spare"]);
    expect(store.changedSince(TypeUrls.endpoint, before)).toEqual(["cluster-1", "spare"]);
    expect(store.changedSince(TypeUrls.endpoint, store.resources(TypeUrls.endpoint))).toBeUndefined();
    // A type the change did not touch keeps its very map.
    expect(store.resources(TypeUrls.cluster)).toBe(clusters);
    const afterUpdate = store.resources(TypeUrls.endpoint);
    const set = resourceSet(3);
    set.endpoints[1] = loadAssignment("cluster-1", [9001]);
    set.endpoints.push(loadAssignment("new"));
    store.publish(set);
    expect(store.changedSince(TypeUrls.endpoint, afterUpdate)).toEqual(["new"]);
    expect(store.changedSince(TypeUrls.endpoint, before)).toBeUndefined();
    expect(store.resources(TypeUrls.cluster)).toBe(clusters);
  });

  test("a node view that names what it depends on is affected only by changes of those types", () => {
    const store = createSnapshotStore();
    expect(store.viewAffected(TypeUrls.secret, new Set([TypeUrls.listener]))).toBe(false);
    store.setNodeView((_node, _typeUrl, names) => names, { types: [TypeUrls.secret], dependsOn: [TypeUrls.listener, TypeUrls.cluster] });
    expect(store.viewAffected(TypeUrls.secret, new Set([TypeUrls.endpoint]))).toBe(false);
    expect(store.viewAffected(TypeUrls.secret, new Set([TypeUrls.endpoint, TypeUrls.cluster]))).toBe(true);
    expect(store.viewAffected(TypeUrls.cluster, new Set([TypeUrls.listener]))).toBe(false);
    store.setNodeView((_node, _typeUrl, names) => names, { types: [TypeUrls.secret] });
    expect(store.viewAffected(TypeUrls.secret, new Set([TypeUrls.endpoint]))).toBe(true);
  });

  test("a node view narrows the names a node may see", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(3));
    const all = [...store.resources(TypeUrls.cluster).keys()];
    expect(store.visibleNames({ id: "a", cluster: "" }, TypeUrls.cluster, all)).toEqual(all);
    store.setNodeView((node, typeUrl, names) => (typeUrl === TypeUrls.cluster && node.id === "a" ? names.filter((n) => n !== "cluster-1") : undefined));
    expect(store.hasNodeView).toBe(true);
    expect(store.visibleNames({ id: "a", cluster: "" }, TypeUrls.cluster, all)).toEqual(["cluster-0", "cluster-2"]);
    expect(store.visibleNames({ id: "b", cluster: "" }, TypeUrls.cluster, all)).toEqual(all);
    expect(store.viewScopes(TypeUrls.cluster)).toBe(true);
  });

  test("a node view limited to some types leaves the others whole", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(3));
    const all = [...store.resources(TypeUrls.cluster).keys()];
    expect(store.viewScopes(TypeUrls.cluster)).toBe(false);
    store.setNodeView((_node, _typeUrl, names) => names.slice(0, 1), { types: [TypeUrls.secret] });
    expect(store.hasNodeView).toBe(true);
    expect(store.viewScopes(TypeUrls.secret)).toBe(true);
    expect(store.viewScopes(TypeUrls.cluster)).toBe(false);
    expect(store.visibleNames({ id: "a", cluster: "" }, TypeUrls.cluster, all)).toEqual(all);
    expect(store.visibleNames({ id: "a", cluster: "" }, TypeUrls.secret, ["s1", "s2"])).toEqual(["s1"]);
  });

  test("route configs referenced only by other listeners are not required", () => {
    const set = resourceSet(1);
    set.routes.push(route("unused", "cluster-0"));
    expect(createSnapshotStore().publish(set).versions[TypeUrls.route]).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("one change into a live store", () => {
  test("a live store that reuses unchanged entries holds what a fresh store makes of the same set: names, order, versions; a dangling new reference is still refused", () => {
    const live = createSnapshotStore();
    let random = 11;
    const next = (n: number) => ((random = (random * 1103515245 + 12345) % 2147483648), random % n);
    // Kept objects between sets, as the build memo hands unchanged translations over.
    let set = resourceSet(6);
    live.publish(set);
    for (let step = 0; step < 60; step++) {
      const n = next(3) === 0 ? 3 + next(5) : set.clusters.length;
      const changed = next(n);
      const fresh = resourceSet(n, { routeDomain: next(2) === 0 ? "a.example.com" : "b.example.com" });
      set = {
        ...fresh,
        listeners: set.listeners,
        clusters: fresh.clusters.map((c, i) => (i < set.clusters.length && i !== changed ? set.clusters[i]! : c)),
        endpoints: fresh.endpoints.map((e, i) => (i < set.endpoints.length && i !== changed ? set.endpoints[i]! : i === changed ? loadAssignment(`cluster-${i}`, [9000 + next(9)]) : e)),
      };
      live.publish(set);
      const reference = createSnapshotStore();
      reference.publish(set);
      for (const info of [TypeUrls.listener, TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint]) {
        const entries = (store: typeof live) => [...store.resources(info)].map(([name, r]) => `${name}@${r.version}`);
        expect(entries(live)).toEqual(entries(reference));
        expect(live.version(info)).toBe(reference.version(info));
      }
    }
    // Same names, one cluster now naming a load assignment that is not there: refused, nothing committed.
    const before = live.snapshot();
    const dangling = { ...set, clusters: set.clusters.map((c, i) => (i === 0 ? edsCluster("cluster-0", { timeout: "3s" }) : c)), endpoints: set.endpoints.filter((_, i) => i !== 0) };
    expect(() => live.publish(dangling)).toThrow(SnapshotInconsistentError);
    const renamed = { ...set, routes: [route("route-0", "no-such-cluster")], listeners: [listener("listener-0", "route-missing")] };
    expect(() => live.publish(renamed)).toThrow(SnapshotInconsistentError);
    expect(live.snapshot()).toBe(before);
  });
});
