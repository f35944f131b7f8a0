// Which parts of a NACKed response were bad, from the response and Envoy's message alone (see
// nack-feedback.ts's header for the policy): resources by index or name in the message, else those
// changed since the client's last ACK; in a route config, the virtual hosts the message names, else
// those that differ from its last good content.
import type { NackRecord } from "../xds/nacks.ts";
import { TypeUrls } from "../xds/types.ts";
import { contentText, type QuarantinedPart } from "./nack-substitute.ts";

/** One version of a type as sent: each resource's name → its version. */
export type SentVersions = ReadonlyMap<string, string>;

/** A resource version's content, as served or as replaced. */
export interface Content {
  version: string;
  json: object;
}

/** The names of a NACKed response that were bad (see the module header). */
export function badResources(nack: NackRecord, sent: SentVersions, ackedBefore: SentVersions | undefined): string[] {
  const names = nack.resourceNames.filter((name) => sent.has(name));
  if (names.length <= 1) return names;
  const message = nack.errorDetail.message;
  const named = new Set<string>();
  for (const match of message.matchAll(/resource index (\d+)/g)) {
    const name = nack.resourceNames[Number(match[1])];
    if (name !== undefined && sent.has(name)) named.add(name);
  }
  for (const name of names) if (mentions(message, name)) named.add(name);
  if (named.size > 0) return [...named];
  if (ackedBefore) {
    const changed = names.filter((name) => ackedBefore.get(name) !== sent.get(name));
    if (changed.length > 0) return changed;
  }
  return names;
}

/**
 * The quarantined parts of one bad resource. In a route config: the virtual hosts the message names;
 * else, when the message names none (Envoy's regex and header errors do not), the virtual hosts that
 * differ from its last good content, if that is not all of them; else the whole resource.
 */
export function badParts(nack: NackRecord, resource: { name: string } & Content, lastGood?: object): QuarantinedPart[] {
  if (nack.typeUrl === TypeUrls.route) {
    const all = ((resource.json as { virtual_hosts?: Array<{ name?: string }> }).virtual_hosts ?? []).filter((vhost) => typeof vhost.name === "string");
    let vhosts = all.filter((vhost) => nack.errorDetail.message.includes(`virtual_hosts[${vhost.name}]`) || mentions(nack.errorDetail.message, vhost.name!));
    if (vhosts.length === 0 && lastGood) {
      const changed = all.filter((vhost) => virtualHostText(lastGood, vhost.name!) !== contentText(vhost));
      if (changed.length < all.length) vhosts = changed;
    }
    if (vhosts.length > 0) return vhosts.map((vhost) => ({ typeUrl: nack.typeUrl, name: resource.name, virtualHost: vhost.name!, content: contentText(vhost) }));
  }
  return [{ typeUrl: nack.typeUrl, name: resource.name, content: contentText(resource.json) }];
}

export function virtualHostText(json: object, name: string): string | undefined {
  const vhost = ((json as { virtual_hosts?: Array<{ name?: string }> }).virtual_hosts ?? []).find((v) => v.name === name);
  return vhost && contentText(vhost);
}

/** Whether `text` names `name` as a whole word (not as part of a longer name). */
function mentions(text: string, name: string): boolean {
  if (name === "") return false;
  const nameChar = /[A-Za-z0-9_.\/-]/;
  for (let at = text.indexOf(name); at >= 0; at = text.indexOf(name, at + 1)) {
    const before = text[at - 1];
    const after = text[at + name.length];
    if ((before === undefined || !nameChar.test(before)) && (after === undefined || !nameChar.test(after))) return true;
  }
  return false;
}
