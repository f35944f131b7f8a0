// Per-stream hold-back of rejected virtual hosts: when a client NACKs a route configuration and the
// error names virtual hosts, that client (only) is sent the route configuration with those virtual
// hosts as it last accepted them (or without them, when it never accepted one), so every other change
// to the route configuration still reaches it. A held virtual host is tried again once its built
// content changes. The variants are encoded once and shared by the clients holding the same parts.
import { mentions, type ResourceVersion } from "./nacks.ts";
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
  /** The response with `nonce` was NACKed: holds the virtual hosts `message` names; true when any. */
  nacked(nonce: string, rejected: readonly ResourceVersion[], message: string): boolean;
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
      let any = false;
      for (const { name } of rejected) {
        // What the client was sent: the built route config, or a variant of it.
        const resource = resources.find((candidate) => candidate.name === name);
        if (!resource) continue;
        for (const vhost of virtualHosts(resource.json)) {
          const vhostName = vhost.name as string;
          if (!message.includes(`virtual_hosts[${vhostName}]`) && !mentions(message, vhostName)) continue;
          let parts = held.get(name);
          if (!parts) held.set(name, (parts = new Map()));
          const existing = parts.get(vhostName);
          if (existing) {
            // What it rejected is what it accepted before, sent in place of the built one: leave it out.
            if (!existing.good) continue;
            existing.good = undefined;
          } else {
            const text = JSON.stringify(vhost);
            const before = virtualHosts(accepted.get(name)?.json).find((candidate) => candidate.name === vhostName);
            parts.set(vhostName, { rejected: text, good: before && JSON.stringify(before) !== text ? before : undefined });
            heldCount++;
          }
          any = true;
        }
      }
      while (heldCount > maxHeld) {
        const [name, parts] = held.entries().next().value!;
        forget(name, parts.keys().next().value!);
      }
      return any;
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
