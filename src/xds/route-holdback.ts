// Per-stream hold-back of rejected virtual hosts: when a client NACKs a route configuration, the bad
// virtual hosts are those the error names; when it names none (Envoy's RE2 and header errors name the
// regex or the header, not the virtual host), those that differ from what the client last accepted,
// if not all of them. That client (only) is then sent the route configuration with those virtual
// hosts as it last accepted them (or without them, when it never accepted one), so every other change
// to the route configuration still reaches it. A held virtual host is tried again once its built
// content changes. The variants are encoded once and shared by the clients holding the same parts.
import { mentions, type RejectedResource, type ResourceVersion } from "./nacks.ts";
import { encodeVariant, hash } from "./resource-encoding.ts";
import type { CachedResource } from "./snapshot.ts";
import { TypeUrls } from "./types.ts";

type Json = Record<string, unknown>;

/** One held virtual host: the content the client rejected, and what it accepted before (if anything). */
interface HeldVirtualHost {
  rejected: string;
  good: Json | undefined;
}

export interface RouteHoldback {
  /** True when some virtual host is held: the stream then takes its per-client path for routes. */
  readonly active: boolean;
  /** Notes the route configs a response (by its nonce) carried. */
  sent(nonce: string, resources: readonly CachedResource[]): void;
  /** The response with `nonce` was ACKed (delta: and every older one). */
  acked(nonce: string, olderToo: boolean): void;
  /**
   * The response with `nonce` was NACKed: holds its bad virtual hosts (see the header). Returns
   * `rejected` with the virtual hosts held named on each route config they belong to.
   */
  nacked(nonce: string, rejected: readonly ResourceVersion[], message: string): RejectedResource[];
  /** `resource` as this client is sent it: itself, or a variant with its held virtual hosts replaced. */
  view(resource: CachedResource): CachedResource;
}

/** Variants of route configurations shared by every stream of a server. */
export interface VariantCache {
  get(key: string, build: () => CachedResource): CachedResource;
}

export function createVariantCache(limit = 64): VariantCache {
  const variants = new Map<string, CachedResource>();
  return {
    get(key, build) {
      let variant = variants.get(key);
      if (!variant) {
        variant = build();
        variants.set(key, variant);
        if (variants.size > limit) variants.delete(variants.keys().next().value!);
      }
      return variant;
    },
  };
}

/** The most responses remembered until judged, and virtual hosts held, per stream. */
const maxPending = 32;
const maxHeld = 1024;

export function createRouteHoldback(variants: VariantCache): RouteHoldback {
  const pending = new Map<string, readonly CachedResource[]>();
  // What the client holds, as it accepted it (the variant when it was sent one).
  const accepted = new Map<string, CachedResource>();
  // Per route config name, per virtual host name.
  const held = new Map<string, Map<string, HeldVirtualHost>>();
  let heldCount = 0;

  function forget(name: string, vhost: string): void {
    const parts = held.get(name);
    if (!parts?.delete(vhost)) return;
    heldCount--;
    if (parts.size === 0) held.delete(name);
  }

  /** Holds one rejected virtual host of route config `name` back from this client. */
  function hold(name: string, vhost: Json): void {
    const vhostName = vhost.name as string;
    let parts = held.get(name);
    if (!parts) held.set(name, (parts = new Map()));
    const existing = parts.get(vhostName);
    if (existing) {
      // What it rejected is what it accepted before, sent in place of the built one: leave it out.
      existing.good = undefined;
      return;
    }
    const text = JSON.stringify(vhost);
    const before = virtualHosts(accepted.get(name)?.json).find((candidate) => candidate.name === vhostName);
    parts.set(vhostName, { rejected: text, good: before && JSON.stringify(before) !== text ? before : undefined });
    heldCount++;
  }

  return {
    get active() {
      return heldCount > 0;
    },
    sent(nonce, resources) {
      pending.set(nonce, resources);
      if (pending.size > maxPending) pending.delete(pending.keys().next().value!);
    },
    acked(nonce, olderToo) {
      for (const [candidate, resources] of pending) {
        if (candidate !== nonce && !(olderToo && Number(candidate) < Number(nonce))) continue;
        for (const resource of resources) accepted.set(resource.name, resource);
        pending.delete(candidate);
      }
    },
    nacked(nonce, rejected, message) {
      const resources = pending.get(nonce) ?? [];
      pending.delete(nonce);
      const judged = rejected.map((resource): RejectedResource => {
        // What the client was sent: the built route config, or a variant of it.
        const sent = resources.find((candidate) => candidate.name === resource.name);
        const bad = sent ? badVirtualHosts(sent.json, accepted.get(resource.name)?.json, message) : [];
        for (const vhost of bad) hold(resource.name, vhost);
        return bad.length > 0 ? { ...resource, virtualHosts: bad.map((vhost) => vhost.name as string) } : resource;
      });
      while (heldCount > maxHeld) {
        const [name, parts] = held.entries().next().value!;
        forget(name, parts.keys().next().value!);
      }
      return judged;
    },
    view(resource) {
      const parts = held.get(resource.name);
      if (!parts) return resource;
      const vhosts = virtualHosts(resource.json);
      for (const [vhostName, part] of [...parts]) {
        const built = vhosts.find((vhost) => vhost.name === vhostName);
        // Changed or gone since it was rejected: the new content is tried.
        if (!built || JSON.stringify(built) !== part.rejected) forget(resource.name, vhostName);
      }
      const still = held.get(resource.name);
      if (!still) return resource;
      const key = hash([resource.version, ...[...still].map(([vhostName, part]) => `${vhostName}\u0000${part.good ? JSON.stringify(part.good) : ""}`)].join("\u0001"));
      return variants.get(key, () => {
        const replaced = vhosts.flatMap((vhost) => {
          const part = still.get(vhost.name as string);
          return part ? (part.good ? [part.good] : []) : [vhost];
        });
        return encodeVariant(TypeUrls.route, { ...(resource.json as Json), virtual_hosts: replaced }, resource);
      });
    },
  };
}

function virtualHosts(json: object | undefined): Json[] {
  return ((json as { virtual_hosts?: Json[] } | undefined)?.virtual_hosts ?? []).filter((vhost) => typeof vhost.name === "string");
}

/**
 * The bad virtual hosts of a rejected route config (`sent`): those `message` names; else those that
 * differ from the version the client accepted before, when that is not all of them; else none (the
 * whole route config is bad: nothing tells its virtual hosts apart).
 */
export function badVirtualHosts(sent: object, accepted: object | undefined, message: string): Json[] {
  const all = virtualHosts(sent);
  const named = all.filter((vhost) => message.includes(`virtual_hosts[${vhost.name}]`) || mentions(message, vhost.name as string));
  if (named.length > 0 || !accepted) return named;
  const before = new Map(virtualHosts(accepted).map((vhost) => [vhost.name as string, JSON.stringify(vhost)]));
  const changed = all.filter((vhost) => before.get(vhost.name as string) !== JSON.stringify(vhost));
  return changed.length < all.length ? changed : [];
}
