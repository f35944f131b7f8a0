// The record of NACKs: every response a client rejected, with who rejected what and why. Kept in a
// bounded ring for the rest of the program (status, metrics, debug), announced to listeners, and
// logged with names and the reason only, never resource bodies. Also decides which resources of a
// rejected response were the bad ones (the stream handlers hold those back from that client only).
import { consola, type ConsolaInstance } from "consola";
import { typeInfo } from "./types.ts";

/** One resource of a response, by name and the version it had in that response. */
export interface ResourceVersion {
  name: string;
  version: string;
}

/** A rejected resource; for a route config, the virtual hosts judged bad when they could be told apart. */
export interface RejectedResource extends ResourceVersion {
  virtualHosts?: string[];
}

export interface NackRecord {
  time: Date;
  /** The stream it came on: what a NACK changes is limited to that stream. */
  stream: number;
  /** Who sent it: the client certificate's identity on mTLS streams, else the node id it claims. */
  nodeId: string;
  /** The node id the client claimed, when it differs from `nodeId` (mTLS). */
  claimedNodeId?: string;
  cluster: string;
  typeUrl: string;
  /** The version_info (sotw) or system_version_info (delta) of the rejected response. */
  version: string;
  /** The names of the resources in the rejected response. */
  resourceNames: string[];
  /** The resources of the response judged bad (badResources), with the versions rejected (and the virtual hosts, route-holdback.ts). */
  rejected: RejectedResource[];
  errorDetail: { code: number; message: string };
  delta: boolean;
}

export interface NackLog {
  record(nack: NackRecord): void;
  /** The most recent NACKs, oldest first. */
  recent(): NackRecord[];
  /** Calls `listener` for every new NACK; returns the function that stops it. */
  on(listener: (nack: NackRecord) => void): () => void;
}

export function createNackLog(options: { capacity?: number; logger?: ConsolaInstance } = {}): NackLog {
  const capacity = options.capacity ?? 256;
  const log = options.logger ?? consola.withTag("xds");
  const ring: NackRecord[] = [];
  const listeners = new Set<(nack: NackRecord) => void>();
  return {
    record(nack) {
      ring.push(nack);
      if (ring.length > capacity) ring.shift();
      const names = nack.resourceNames.length > 10 ? `${nack.resourceNames.slice(0, 10).join(", ")}, …` : nack.resourceNames.join(", ");
      const claims = nack.claimedNodeId === undefined ? "" : ` (claims node id ${nack.claimedNodeId.slice(0, 200) || "(none)"})`;
      log.warn(
        `NACK from node ${nack.nodeId.slice(0, 200) || "(no id)"}${claims} (cluster ${nack.cluster.slice(0, 200) || "-"}) for ${typeInfo(nack.typeUrl)?.short ?? nack.typeUrl} ` +
          `version ${nack.version} [${names}]: ${nack.errorDetail.message.slice(0, 500)}`,
      );
      for (const listener of [...listeners]) listener(nack);
    },
    recent: () => [...ring],
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * Which resources of a rejected response (`sent`, in response order) were bad: the only one; else
 * those the error message names (by name, or grpc's "resource index N"); else those that changed
 * since the client's previous ACK of the type (`acceptedBefore`); else all of them.
 */
export function badResources(sent: readonly ResourceVersion[], message: string, acceptedBefore?: (name: string) => string | undefined): ResourceVersion[] {
  if (sent.length <= 1) return [...sent];
  const named = new Set<ResourceVersion>();
  for (const match of message.matchAll(/resource index (\d+)/g)) {
    const resource = sent[Number(match[1])];
    if (resource) named.add(resource);
  }
  for (const resource of sent) if (mentions(message, resource.name)) named.add(resource);
  if (named.size > 0) return sent.filter((resource) => named.has(resource));
  if (acceptedBefore) {
    const changed = sent.filter((resource) => acceptedBefore(resource.name) !== resource.version);
    if (changed.length > 0) return changed;
  }
  return [...sent];
}

/** Whether `text` names `name` as a whole word (not as part of a longer name). */
export function mentions(text: string, name: string): boolean {
  if (name === "") return false;
  const nameChar = /[A-Za-z0-9_.\/-]/;
  for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
    const before = text[at - 1];
    const after = text[at + name.length];
    if ((before === undefined || !nameChar.test(before)) && (after === undefined || !nameChar.test(after))) return true;
  }
  return false;
}
