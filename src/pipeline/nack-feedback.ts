// NACK feedback: when an xDS client rejects a resource, find the part that was bad (a resource, or
// one virtual host of a route config), put a condition on the objects behind it, and serve its last
// good content instead while the built content stays the rejected one, so every other change keeps
// flowing. Contour only logs NACKs; one bad object then freezes every later update of that type.
//
// Policy (one misbehaving client must not censor config for everyone forever):
// - The first NACK quarantines, but only the exact content it rejected, and only while that content
//   is what the agent currently serves (a NACK of content already replaced changes nothing).
// - A quarantine ends when the built content changes (the new content is tried), when the resource
//   or virtual host disappears, after `holdMs` (default 5 min: the content is tried once more), or
//   when another client ACKs that same content.
// - A NACK of content another client has ACKed does not quarantine: the content is served, the
//   NACK is logged, and that node's NACKs do not quarantine anything for `holdMs` ("distrusted").
// - Last good content: the last version of the resource that was served and replaced without
//   being NACKed. With none (or when that one is NACKed too), the part is left out; a substituted
//   resource naming what no longer exists is left out too, and so is what names a resource that
//   was left out (nack-substitute.ts).
// - The endpoint fast path publishes load assignments without a build: their new content is new
//   content, tried again like any other.
// - What is remembered per type version is only its resources' names and versions (the last
//   `historySize` versions of each type); content (JSON) is kept for the version served now and the
//   one it replaced, per resource. A NACK of an older version of a resource therefore quarantines
//   nothing: its whole content is no longer served, and its virtual hosts can no longer be told apart.
// Which resources of a NACKed response were bad: the only one; else those the error message names
// (by name, or grpc's "resource index N"); else those that changed since that client's last ACK of
// the type; else all of them. In a route config, virtual hosts named in the message are the parts;
// when none is named, those that differ from the route config's last good content.
import { consola, type ConsolaInstance } from "consola";
import type { ObjectRef } from "../dag/status.ts";
import type { NackRecord } from "../xds/nacks.ts";
import type { XdsEvent } from "../xds/server-common.ts";
import type { CachedResource, SnapshotStore } from "../xds/snapshot.ts";
import { TypeUrls, typeInfo } from "../xds/types.ts";
import type { BuildResult } from "./build.ts";
import { badParts, badResources, virtualHostText, type Content, type SentVersions } from "./nack-blame.ts";
import { resourceKind, substituteQuarantined, type LeftOut, type QuarantinedPart } from "./nack-substitute.ts";

export { badResources } from "./nack-blame.ts";

export interface Quarantine extends QuarantinedPart {
  /** The resource's served version that was rejected. */
  version: string;
  nodeId: string;
  /** Envoy's error_detail.message. */
  error: string;
  since: Date;
  expiresAt: number;
}

export interface NackFeedbackOptions {
  /** How long a quarantine holds before the content is tried again (default 5 min). */
  holdMs?: number;
  /** How many versions of each type are remembered to resolve a NACK's version (default 32). */
  historySize?: number;
  logger?: ConsolaInstance;
  now?: () => number;
}

export interface NackFeedback {
  /** Applies the quarantines to a fresh build (resources and conditions); the pipeline publishes the result. */
  apply(result: BuildResult): BuildResult;
  /** Feeds one NACK (NackLog.on). */
  nack(record: NackRecord): void;
  /** Feeds the xDS server's events (ACKs, responses, closed streams). */
  event(event: XdsEvent): void;
  /** Called when the quarantines changed and a rebuild should apply them; returns the stop function. */
  onChange(listener: () => void): () => void;
  quarantined(): Quarantine[];
  stop(): void;
}

const maxMessage = 300;
const maxRemembered = 65_536;


/** An ACKed response: the type's resource versions at its version, and the names it carried. */
interface AckedResponse {
  sent: SentVersions;
  names: string[];
}

/** Whether the ACKed response carried `name` at `version` (a response of the whole type carries every name). */
function holds(ack: AckedResponse, name: string, version: string): boolean {
  return ack.sent.get(name) === version && (ack.names.length === ack.sent.size || ack.names.includes(name));
}


export function createNackFeedback(store: SnapshotStore, options: NackFeedbackOptions = {}): NackFeedback {
  const holdMs = options.holdMs ?? 5 * 60_000;
  const historySize = options.historySize ?? 32;
  const log = options.logger ?? consola.withTag("nack-feedback");
  const now = options.now ?? Date.now;
  // Names and versions only: keeping the CachedResources (JSON and bytes) of 32 versions held 32
  // copies of a route config that changes on every rebuild (hundreds of MiB at 10k Ingresses).
  const history = new Map<string, Map<string, SentVersions>>();
  const served = new Map<string, Map<string, CachedResource>>();
  // Per `typeUrl name`: the content the served version replaced (the served one is in the store).
  const replaced = new Map<string, Content>();
  const lastGood = new Map<string, object>();
  const nacked = new Set<string>();
  // Per type, each node's latest ACKed response: O(1) per ACK, however many resources it carried.
  const acks = new Map<string, Map<string, AckedResponse>>();
  const responses = new Map<string, { nonce: string; names: string[] }>();
  const distrusted = new Map<string, number>();
  const quarantines = new Map<string, Quarantine>();
  // Last good contents that were served in place of a quarantined part and rejected too.
  const rejectedGood = new Set<string>();
  // What the last build left out, so each is logged once, not on every rebuild.
  let reported = new Set<string>();
  const listeners = new Set<() => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const remember = <K, V>(map: Map<K, V> | Set<K>, key: K, value?: V) => {
    if (map instanceof Set) map.add(key);
    else map.set(key, value as V);
    if (map.size > maxRemembered) map.delete(map.keys().next().value as K);
  };
  const changed = () => {
    schedule();
    for (const listener of [...listeners]) listener();
  };

  /** Per type, the name → version map of the version last recorded (the next one starts from it). */
  const lastSent = new Map<string, Map<string, string>>();

  function record(typeUrl: string): void {
    const current = store.resources(typeUrl);
    const before = served.get(typeUrl);
    // The store names what changed since `before` (an EDS update touches one of 10k): walk only those.
    const changedNames = before ? store.changedSince(typeUrl, before) : undefined;
    for (const name of changedNames ?? before?.keys() ?? []) {
      const resource = before!.get(name);
      if (!resource || current.get(name)?.version === resource.version) continue;
      const key = `${typeUrl} ${name}`;
      if (!nacked.has(`${key} ${resource.version}`)) lastGood.set(key, resource.json);
      if (current.has(name)) replaced.set(key, { version: resource.version, json: resource.json });
      else {
        replaced.delete(key);
        if (![...quarantines.values()].some((q) => q.typeUrl === typeUrl && q.name === name)) lastGood.delete(key);
      }
    }
    served.set(typeUrl, current);
    let versions = history.get(typeUrl);
    if (!versions) history.set(typeUrl, (versions = new Map()));
    const previousSent = lastSent.get(typeUrl);
    let sent: Map<string, string>;
    if (changedNames && previousSent) {
      sent = new Map(previousSent);
      for (const name of changedNames) {
        const resource = current.get(name);
        if (resource) sent.set(name, resource.version);
        else sent.delete(name);
      }
    } else {
      sent = new Map<string, string>();
      for (const [name, resource] of current) sent.set(name, resource.version);
    }
    lastSent.set(typeUrl, sent);
    versions.delete(store.version(typeUrl));
    versions.set(store.version(typeUrl), sent);
    if (versions.size > historySize) versions.delete(versions.keys().next().value!);
  }
  if (store.published) for (const typeUrl of Object.values(TypeUrls)) record(typeUrl);
  const unsubscribe = store.subscribe((types) => types.forEach(record));

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (quarantines.size === 0) return;
    const next = Math.min(...[...quarantines.values()].map((q) => q.expiresAt));
    timer = setTimeout(() => {
      timer = undefined;
      if (expire()) changed();
      else schedule();
    }, Math.max(0, next - now()));
    (timer as { unref?: () => void }).unref?.();
  }

  function expire(): boolean {
    let any = false;
    for (const [key, quarantine] of quarantines) {
      if (quarantine.expiresAt > now()) continue;
      quarantines.delete(key);
      log.info(`quarantine of ${describe(quarantine)} ended after ${holdMs} ms: trying it again`);
      any = true;
    }
    return any;
  }

  function nack(nack: NackRecord): void {
    const sent = history.get(nack.typeUrl)?.get(nack.version);
    if (!typeInfo(nack.typeUrl) || !sent) {
      log.debug(`NACK of ${nack.typeUrl} version ${nack.version} from ${nack.nodeId}: that version is no longer known`);
      return;
    }
    const distrust = distrusted.get(nack.nodeId);
    const typeAcks = acks.get(nack.typeUrl);
    let added = false;
    for (const name of badResources(nack, sent, typeAcks?.get(nack.nodeId)?.sent)) {
      const version = sent.get(name)!;
      remember(nacked, `${nack.typeUrl} ${name} ${version}`);
      const current = store.resources(nack.typeUrl).get(name);
      const acceptedBy = [...(typeAcks ?? [])].find(([node, ack]) => node !== nack.nodeId && holds(ack, name, version))?.[0];
      if (acceptedBy !== undefined) {
        log.warn(`node ${nack.nodeId} rejected ${resourceKind(nack.typeUrl)} ${name}, which node ${acceptedBy} accepted: not quarantined, and that node's NACKs are not trusted for ${holdMs} ms`);
        distrusted.set(nack.nodeId, now() + holdMs);
        continue;
      }
      if (distrust !== undefined && distrust > now()) {
        log.warn(`node ${nack.nodeId} rejected ${resourceKind(nack.typeUrl)} ${name}; its NACKs are not trusted now: not quarantined`);
        continue;
      }
      // The rejected content: served now, or the version the served one replaced; older is not held.
      const earlier = replaced.get(`${nack.typeUrl} ${name}`);
      const json = current?.version === version ? current.json : earlier?.version === version ? earlier.json : undefined;
      if (!current || !json) continue;
      for (const part of badParts(nack, { name, version, json }, lastGood.get(`${nack.typeUrl} ${name}`))) {
        const currentPart = part.virtualHost === undefined ? (current.version === version ? part.content : undefined) : virtualHostText(current.json, part.virtualHost);
        if (currentPart !== part.content) continue; // no longer served: nothing to hold back
        const held = partKey(part);
        const existing = quarantines.get(held);
        if (existing && existing.content !== part.content) {
          // What was rejected is the last good content served in its place: leave the part out.
          remember(rejectedGood, `${held}\u0000${part.content}`);
          log.warn(`node ${nack.nodeId} rejected the last good version of ${describe(part)} too: leaving it out`);
          added = true;
          continue;
        }
        const quarantine: Quarantine = { ...part, version, nodeId: nack.nodeId, error: nack.errorDetail.message, since: new Date(now()), expiresAt: now() + holdMs };
        quarantines.set(held, quarantine);
        log.warn(`quarantined ${describe(quarantine)} after a NACK from node ${nack.nodeId}: serving its last good version`);
        added = true;
      }
    }
    if (added) changed();
  }

  function event(event: XdsEvent): void {
    const streamKey = `${event.stream} ${event.typeUrl}`;
    if (event.kind === "close") {
      for (const key of responses.keys()) if (key.startsWith(`${event.stream} `)) responses.delete(key);
    } else if (event.kind === "response" && !event.delta && event.typeUrl) {
      responses.set(streamKey, { nonce: event.nonce ?? "", names: event.resourceNames ?? [] });
    } else if (event.kind === "ack" && event.typeUrl && event.version !== undefined) {
      const names = event.delta ? event.resourceNames : responses.get(streamKey)?.nonce === event.nonce ? responses.get(streamKey)!.names : undefined;
      onAck(event.nodeId ?? "", event.typeUrl, event.version, names ?? []);
    }
  }

  function onAck(nodeId: string, typeUrl: string, version: string, names: string[]): void {
    const sent = history.get(typeUrl)?.get(version);
    if (!sent) return;
    let typeAcks = acks.get(typeUrl);
    if (!typeAcks) acks.set(typeUrl, (typeAcks = new Map()));
    const ack: AckedResponse = { sent, names };
    typeAcks.delete(nodeId);
    remember(typeAcks, nodeId, ack);
    let lifted = false;
    for (const [key, quarantine] of quarantines) {
      if (quarantine.typeUrl !== typeUrl || quarantine.nodeId === nodeId || !holds(ack, quarantine.name, quarantine.version)) continue;
      quarantines.delete(key);
      distrusted.set(quarantine.nodeId, now() + holdMs);
      log.warn(`node ${nodeId} accepted ${describe(quarantine)}, which node ${quarantine.nodeId} rejected: quarantine lifted`);
      lifted = true;
    }
    if (lifted) changed();
  }

  function apply(result: BuildResult): BuildResult {
    if (expire()) schedule();
    if (quarantines.size === 0) {
      reported = new Set();
      return result;
    }
    const substitution = substituteQuarantined(result.resources, {
      quarantines: [...quarantines.values()],
      lastGood: (typeUrl, name) => lastGood.get(`${typeUrl} ${name}`),
      rejected: (part) => rejectedGood.has(`${partKey(part)}\u0000${part.content}`),
    });
    for (const quarantine of substitution.released) {
      quarantines.delete(partKey(quarantine));
      log.info(`quarantine of ${describe(quarantine)} ended: its content changed or it is gone`);
    }
    if (substitution.released.length > 0) schedule();
    for (const quarantine of substitution.held) {
      const message = `Envoy rejected ${resourceKind(quarantine.typeUrl)} ${JSON.stringify(quarantine.name)}: ${truncate(quarantine.error)}`;
      for (const ref of ownersOf(result, quarantine)) result.dag.status.error(ref, { type: "EnvoyConfigError", reason: "ResourceNacked", message });
    }
    const leftOut = new Set<string>();
    for (const left of substitution.leftOut) leftOut.add(reportLeftOut(result, left, reported));
    reported = leftOut;
    return { ...result, resources: substitution.resources, statuses: result.dag.status.all() };
  }

  /** Logs (once) and records what was left out; returns its log line as its key. */
  function reportLeftOut(result: BuildResult, left: LeftOut, alreadyLogged: Set<string>): string {
    const what = `${resourceKind(left.typeUrl)} ${JSON.stringify(left.name)}${left.virtualHost === undefined ? "" : ` virtual host ${JSON.stringify(left.virtualHost)}`}`;
    const line = `left out ${what}: ${left.reason}`;
    if (!alreadyLogged.has(line)) log.warn(line);
    // A quarantined part already carries its ResourceNacked condition; report only what it dragged along.
    if (left.reason.startsWith("no earlier version")) return line;
    const message = `${what} is not served: it ${left.reason}`;
    for (const ref of ownersOf(result, left)) result.dag.status.error(ref, { type: "EnvoyConfigError", reason: "NackedDependency", message });
    return line;
  }

  return {
    apply,
    nack,
    event,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    quarantined: () => [...quarantines.values()],
    stop() {
      unsubscribe();
      if (timer) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
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

const partKey = (part: { typeUrl: string; name: string; virtualHost?: string }) => `${part.typeUrl} ${part.name} ${part.virtualHost ?? ""}`;

function ownersOf(result: BuildResult, part: { typeUrl: string; name: string; virtualHost?: string }): ObjectRef[] {
  if (part.virtualHost !== undefined) {
    const refs = result.owners.ofVirtualHost(part.virtualHost);
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
