// Who serves each path of each virtual host while the Ingress processor runs (ingress.ts): the
// oldest Ingress keeps a path another one also defines. A full build asks once per path and virtual
// host; the answer is found by host and match as they are, not by a key string spelt out per path.
import type { ObjectRef } from "./status.ts";
import type { PathMatch, Route } from "./types.ts";

/** Who serves a path on one virtual host (plain or TLS), to detect the same path claimed twice. */
export interface PathClaim {
  ref: ObjectRef;
  /** The route served for it, replaced in place when the same Ingress defines the path again. */
  route: Route;
}

interface Slot {
  secure: boolean;
  match: PathMatch;
  claim: PathClaim;
}

/** A host's claims are scanned while they are this few; past that, found by key. */
const scanMax = 16;

const segmentOf = (match: PathMatch): boolean | undefined => match.kind === "prefix" && match.segment;

const sameSlot = (slot: Slot, secure: boolean, match: PathMatch): boolean =>
  slot.secure === secure && slot.match.value === match.value && slot.match.kind === match.kind && segmentOf(slot.match) === segmentOf(match);

const slotKey = (secure: boolean, match: PathMatch): string => `${secure ? "tls" : "plain"}\u0000${match.kind}\u0000${match.value}\u0000${segmentOf(match)}`;

export class PathClaims {
  readonly #byHost = new Map<string, Slot[] | Map<string, PathClaim>>();

  /** The claim on `match` of host `host`'s plain or TLS virtual host. */
  get(host: string, secure: boolean, match: PathMatch): PathClaim | undefined {
    const claims = this.#byHost.get(host);
    if (claims === undefined) return undefined;
    if (claims instanceof Map) return claims.get(slotKey(secure, match));
    for (const slot of claims) if (sameSlot(slot, secure, match)) return slot.claim;
    return undefined;
  }

  set(host: string, secure: boolean, match: PathMatch, claim: PathClaim): void {
    let claims = this.#byHost.get(host);
    if (claims === undefined) this.#byHost.set(host, (claims = []));
    if (claims instanceof Map) {
      claims.set(slotKey(secure, match), claim);
      return;
    }
    for (const slot of claims) {
      if (!sameSlot(slot, secure, match)) continue;
      slot.claim = claim;
      return;
    }
    claims.push({ secure, match, claim });
    if (claims.length > scanMax) this.#byHost.set(host, new Map(claims.map((slot) => [slotKey(slot.secure, slot.match), slot.claim])));
  }
}
