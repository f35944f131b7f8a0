// NACK feedback: when an xDS client rejects a resource, find the part that was bad (a resource, or
// one virtual host of a route config) and put a condition on the objects behind it, so the user
// reads Envoy's error on the object that caused it. Contour only logs NACKs.
//
// What anyone is served is never changed here: a NACK is one client's word, and a client can claim
// any node id. The xDS server holds the rejected version (or virtual host, route-holdback.ts) back
// from the stream that rejected it only (server-sotw.ts, server-delta.ts); every other client keeps
// being sent what is built.
//
// A rejection is reported while its stream is open and the rejected content is still what is built:
// a change of the content (the new content is tried), the resource or virtual host disappearing, or
// the stream closing ends it. At most `capacity` rejections are remembered (oldest dropped first).
import { consola, type ConsolaInstance } from "consola";
import type { ObjectRef } from "../dag/status.ts";
import type { NackRecord, RejectedResource } from "../xds/nacks.ts";
import type { XdsEvent } from "../xds/server-common.ts";
import type { SnapshotStore } from "../xds/snapshot.ts";
import { findSorted } from "../base/sorted.ts";
import { resourceKind, resourceTypes, typeInfo, TypeUrls, type ResourceSet } from "../xds/types.ts";
import { parseVirtualHostName } from "../xds/vhds.ts";
import { resultWith, type BuildResult } from "./build.ts";

/** One rejected part as reported: a whole resource, or one virtual host of a route configuration. */
export interface Rejection {
  typeUrl: string;
  name: string;
  virtualHost?: string;
  /** The rejected content, as contentText() writes it. */
  content: string;
  /** The resource's version that was rejected. */
  version: string;
  /** The stream that rejected it, and who that is (NackRecord.nodeId). */
  stream: number;
  nodeId: string;
  /** Envoy's error_detail.message. */
  error: string;
  since: Date;
}

export interface NackFeedbackOptions {
  /** How many rejections are remembered at most (default 4096). */
  capacity?: number;
  logger?: ConsolaInstance;
}

export interface NackFeedback {
  /** Adds the conditions of the rejections still built to a fresh build; the resources are left as built. */
  apply(result: BuildResult): BuildResult;
  /** Feeds one NACK (NackLog.on). */
  nack(record: NackRecord): void;
  /** Feeds the xDS server's events (a closed stream ends its rejections). */
  event(event: XdsEvent): void;
  /** Called when the rejections changed and a rebuild should report them; returns the stop function. */
  onChange(listener: () => void): () => void;
  rejections(): Rejection[];
  stop(): void;
}

const maxMessage = 300;

type Json = Record<string, unknown>;

export function createNackFeedback(store: SnapshotStore, options: NackFeedbackOptions = {}): NackFeedback {
  const capacity = options.capacity ?? 4096;
  const log = options.logger ?? consola.withTag("nack-feedback");
  // Per `stream part`: one stream's rejection of one part.
  const rejections = new Map<string, Rejection>();
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of [...listeners]) listener();
  };

  function nack(record: NackRecord): void {
    if (!typeInfo(record.typeUrl)) return;
    let added = false;
    for (const rejected of record.rejected) {
      const { name, version } = rejected;
      // Only content still served can be reported: a NACK of a version already replaced says nothing now.
      const current = store.resources(record.typeUrl).get(name);
      if (!current || current.version !== version) continue;
      for (const part of badParts(record.typeUrl, rejected, current.json)) {
        const key = `${record.stream} ${partKey(part)}`;
        rejections.delete(key);
        rejections.set(key, { ...part, version, stream: record.stream, nodeId: record.nodeId, error: record.errorDetail.message, since: record.time });
        if (rejections.size > capacity) rejections.delete(rejections.keys().next().value!);
        log.debug(`node ${record.nodeId.slice(0, 200)} rejected ${describe(part)}: held back from its stream only`);
        added = true;
      }
    }
    if (added) changed();
  }

  function event(event: XdsEvent): void {
    if (event.kind !== "close") return;
    let removed = false;
    for (const [key, rejection] of rejections) {
      if (rejection.stream !== event.stream) continue;
      rejections.delete(key);
      removed = true;
    }
    if (removed) changed();
  }

  function apply(result: BuildResult): BuildResult {
    if (rejections.size === 0) return result;
    const built = builtContent(result.resources);
    const reported = new Set<string>();
    for (const [key, rejection] of rejections) {
      if (built(rejection) !== rejection.content) {
        rejections.delete(key);
        log.info(`${describe(rejection)} changed or is gone: node ${rejection.nodeId.slice(0, 200)} is sent its new content`);
        continue;
      }
      const message = `Envoy rejected ${resourceKind(rejection.typeUrl)} ${JSON.stringify(rejection.name)}: ${truncate(rejection.error)}`;
      for (const ref of ownersOf(result, rejection)) {
        // Many clients rejecting the same content make one condition, not one each.
        const once = `${ref.kind}/${ref.namespace}/${ref.name}\u0000${message}`;
        if (reported.has(once)) continue;
        reported.add(once);
        result.dag.status.error(ref, { type: "EnvoyConfigError", reason: "ResourceNacked", message });
      }
    }
    return resultWith(result, {});
  }

  return {
    apply,
    nack,
    event,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    rejections: () => [...rejections.values()],
    stop() {
      listeners.clear();
      rejections.clear();
    },
  };
}

/** Wires a NACK feedback between the xDS server and the pipeline (agent.ts, tests). Returns the stop function. */
export function connectNackFeedback(
  feedback: NackFeedback,
  parts: { server: { nacks: { on(listener: (nack: NackRecord) => void): () => void }; on(listener: (event: XdsEvent) => void): () => void }; pipeline: { rebuild(): void } },
): () => void {
  const stops = [parts.server.nacks.on((nack) => feedback.nack(nack)), parts.server.on((event) => feedback.event(event)), feedback.onChange(() => parts.pipeline.rebuild())];
  return () => stops.forEach((stop) => stop());
}

/** The canonical text of a resource or a virtual host: what "the same content" compares. */
export function contentText(json: object): string {
  const { "@type": _type, ...rest } = json as Json;
  return JSON.stringify(rest);
}

type Part = Pick<Rejection, "typeUrl" | "name" | "virtualHost" | "content">;

/**
 * The rejected parts of one bad resource: the virtual hosts the xDS server judged bad (those the
 * message names, or those changed since that client's last accepted version: route-holdback.ts), else
 * the whole resource. A rejected VHDS resource is the virtual host of its route configuration (vhds.ts).
 */
function badParts(typeUrl: string, rejected: RejectedResource, json: object): Part[] {
  const vhds = typeUrl === TypeUrls.virtualHost ? parseVirtualHostName(rejected.name) : undefined;
  if (vhds) return [{ typeUrl: TypeUrls.route, name: vhds.routeConfig, virtualHost: vhds.host, content: contentText({ ...(json as Json), name: vhds.host }) }];
  const bad = new Set(rejected.virtualHosts ?? []);
  const vhosts = bad.size === 0 ? [] : ((json as { virtual_hosts?: Json[] }).virtual_hosts ?? []).filter((vhost) => bad.has(vhost.name as string));
  if (vhosts.length > 0) return vhosts.map((vhost) => ({ typeUrl, name: rejected.name, virtualHost: vhost.name as string, content: contentText(vhost) }));
  return [{ typeUrl, name: rejected.name, content: contentText(json) }];
}

/** The built content of a part (as contentText writes it), undefined when it is not built. Each list of a built set is sorted by name: found by halves. */
function builtContent(set: ResourceSet): (part: Part) => string | undefined {
  return (part) => {
    const info = resourceTypes.find((candidate) => candidate.typeUrl === part.typeUrl);
    const resources = (info ? set[info.kind] : undefined) as Json[] | undefined;
    const resource = resources && findSorted(resources, part.name, (r) => r[info!.nameField] as string);
    if (!resource || part.virtualHost === undefined) return resource && contentText(resource);
    const vhosts = (resource.virtual_hosts as Json[] | undefined) ?? [];
    // Sorted by name too, but for a TLS host's catch-all, last.
    const vhost = findSorted(vhosts, part.virtualHost, (v) => v.name as string) ?? vhosts.find((v) => v.name === part.virtualHost);
    return vhost && contentText(vhost);
  };
}

const partKey = (part: { typeUrl: string; name: string; virtualHost?: string }) => `${part.typeUrl} ${part.name} ${part.virtualHost ?? ""}`;

function ownersOf(result: BuildResult, part: { typeUrl: string; name: string; virtualHost?: string }): ObjectRef[] {
  if (part.virtualHost !== undefined) {
    const refs = result.owners.ofVirtualHost(part.name, part.virtualHost);
    if (refs.length > 0) return refs;
  }
  return result.owners.of(part.typeUrl, part.name);
}

function describe(part: { typeUrl: string; name: string; virtualHost?: string }): string {
  return `${resourceKind(part.typeUrl)} ${part.name}${part.virtualHost === undefined ? "" : ` (virtual host ${part.virtualHost})`}`;
}

function truncate(message: string): string {
  return message.length > maxMessage ? `${message.slice(0, maxMessage - 1)}…` : message;
}
