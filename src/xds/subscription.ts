// One subscription model for state-of-the-world and delta streams (as go-control-plane's
// stream/v3/subscription.go): what one client asked for of one type — a set of names, wildcard or
// both — and the per-type rules, fixed once here. LDS, CDS and VHDS are wildcard when the first request
// names nothing (the legacy wildcard); RDS, EDS and SDS are by name only; "*" subscribes to everything
// for any type. State-of-the-world requests replace the names; delta requests add and remove them
// ("*" in unsubscribe ends wildcard). A name set is interned and replaced, never changed in place.
import type { KnownVersions } from "./known-versions.ts";
import { type NamePool, sameNames, sameOrder } from "./name-pool.ts";
import type { ResourceTypeInfo } from "./types.ts";

export interface Subscription {
  /** Everything of the type, whatever `names` holds. */
  wildcard: boolean;
  /** Subscribed names (interned: shared with clients subscribed to the same names). */
  names: ReadonlySet<string>;
  /** Wildcard because the first request named nothing (LDS/CDS): sotw keeps it while names stay empty. */
  legacyWildcard: boolean;
  /** The request's list `names` was last found equal to (decoded requests may share one array). */
  namesList: readonly string[] | undefined;
}

const noNames: ReadonlySet<string> = new Set();

/** The subscription of a type no request has named yet. */
export function emptySubscription(): Subscription {
  return { wildcard: false, names: noNames, legacyWildcard: false, namesList: undefined };
}

/** Whether a type's first request naming `names` subscribes to everything: "*", or nothing named for LDS/CDS/VHDS. */
export function startsWildcard(info: ResourceTypeInfo, names: readonly string[]): boolean {
  return (info.wildcard && names.length === 0) || names.includes("*");
}

/**
 * A state-of-the-world request: its names replace the subscription. A first request naming nothing
 * is the legacy wildcard for LDS/CDS, kept while later requests name nothing. What the client holds
 * (`held`) outside a narrowed subscription is forgotten. Returns whether the subscription changed.
 */
export function replaceNames(subscription: Subscription, info: ResourceTypeInfo, request: { names: readonly string[]; first: boolean }, pool: NamePool, held: KnownVersions): boolean {
  const { names, first } = request;
  const legacy = info.wildcard && names.length === 0 && (first || subscription.legacyWildcard);
  const star = names.includes("*");
  const wildcard = legacy || star;
  const named = star ? names.filter((name) => name !== "*") : names;
  let changed = first || wildcard !== subscription.wildcard;
  // An ACK repeats the names it subscribed with: the same list (often the very array, see
  // server-wire.ts) in the same order costs no set at all.
  if (named !== subscription.namesList && !sameOrder(subscription.names, named)) {
    const next = pool.intern(named);
    changed ||= !sameNames(next, subscription.names);
    subscription.names = next;
  }
  subscription.namesList = named;
  subscription.legacyWildcard = legacy;
  subscription.wildcard = wildcard;
  if (changed && !wildcard) for (const name of held.names()) if (!subscription.names.has(name)) held.delete(name);
  return changed;
}

/**
 * A delta request: adds `subscribe`, removes `unsubscribe` ("*" turns wildcard on or off). A name
 * subscribed after the start is sent even if the client says it held it; what it unsubscribed from
 * is forgotten, so it is sent again if subscribed again. Returns whether anything was added.
 */
export function changeNames(
  subscription: Subscription,
  info: ResourceTypeInfo,
  request: { subscribe: readonly string[]; unsubscribe: readonly string[]; first: boolean },
  pool: NamePool,
  held: KnownVersions,
): boolean {
  const { subscribe, unsubscribe, first } = request;
  if (first) subscription.wildcard = startsWildcard(info, subscribe);
  // The common start: names subscribed to nothing yet, often a long list shared with other clients.
  if (subscription.names.size === 0 && unsubscribe.length === 0 && subscribe.length > 0 && !subscribe.includes("*")) {
    subscription.names = pool.intern(subscribe);
    if (!first) for (const name of subscription.names) held.delete(name);
    return true;
  }
  let added = false;
  let fresh: Set<string> | undefined;
  for (const name of subscribe) {
    if (name === "*") {
      added ||= !subscription.wildcard;
      subscription.wildcard = true;
    } else if (!subscription.names.has(name) && !fresh?.has(name)) {
      (fresh ??= new Set()).add(name);
      if (!first) held.delete(name);
      added = true;
    }
  }
  let dropped: Set<string> | undefined;
  for (const name of unsubscribe) {
    if (name === "*") subscription.wildcard = false;
    else if (subscription.names.has(name) || fresh?.has(name)) (dropped ??= new Set()).add(name);
  }
  if (fresh || dropped) {
    const next = fresh ? [...subscription.names, ...fresh] : [...subscription.names];
    subscription.names = pool.intern(dropped ? next.filter((name) => !dropped.has(name)) : next);
  }
  if (unsubscribe.length > 0) {
    for (const name of held.names()) if (!subscription.wildcard && !subscription.names.has(name)) held.delete(name);
  }
  return added;
}
