// Which GatewayClass and Gateway this agent serves, as Contour decides it. Ours are the classes
// whose controllerName is --gateway-controller-name. With --gateway-ref, the named Gateway, if its
// class is ours (Contour's gateway.gatewayRef); otherwise the oldest class of ours is accepted and
// the oldest Gateway of it is served (creationTimestamp, then namespace/name). Everything of other
// controllers is left alone: no status is written on it.
import type { Gateway, GatewayClass } from "./gateway-api-types.ts";

export const defaultGatewayControllerName = "projectcontour.io/gateway-controller";

export interface GatewaySelectionOptions {
  /** --gateway-controller-name; default projectcontour.io/gateway-controller. */
  controllerName?: string;
  /** --gateway-ref: serve this Gateway only. */
  gatewayRef?: { namespace: string; name: string };
}

export interface GatewaySelection {
  controllerName: string;
  /** The accepted class (the served Gateway's, with --gateway-ref). */
  acceptedClass?: GatewayClass;
  /** Classes of ours not accepted because an older one is (without --gateway-ref only). */
  olderClassExists: GatewayClass[];
  /** The Gateway this agent serves. */
  gateway?: Gateway;
  /** Gateways of the accepted class not served because an older one is (without --gateway-ref only). */
  olderGatewayExists: Gateway[];
}

/** The creation time in ms; an object without one (manifests) sorts after every dated one. */
function created(object: { metadata: { creationTimestamp?: string } }): number {
  const time = Date.parse(object.metadata.creationTimestamp ?? "");
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

function key(object: { metadata: { namespace?: string; name: string } }): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

/** Oldest first: creationTimestamp, then namespace/name. */
export function byAge<T extends { metadata: { namespace?: string; name: string; creationTimestamp?: string } }>(a: T, b: T): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Decides from valid objects only (their schema checked): an invalid one never takes part. */
export function selectGateway(classes: GatewayClass[], gateways: Gateway[], options: GatewaySelectionOptions = {}): GatewaySelection {
  const controllerName = options.controllerName ?? defaultGatewayControllerName;
  const ours = classes.filter((c) => c.spec?.controllerName === controllerName).sort(byAge);
  const selection: GatewaySelection = { controllerName, olderClassExists: [], olderGatewayExists: [] };
  const ref = options.gatewayRef;
  if (ref) {
    const gateway = gateways.find((g) => g.metadata.namespace === ref.namespace && g.metadata.name === ref.name);
    const gatewayClass = gateway && ours.find((c) => c.metadata.name === gateway.spec?.gatewayClassName);
    if (gateway && gatewayClass) {
      selection.gateway = gateway;
      selection.acceptedClass = gatewayClass;
    }
    return selection;
  }
  const [accepted, ...younger] = ours;
  if (!accepted) return selection;
  selection.acceptedClass = accepted;
  selection.olderClassExists = younger;
  const [oldest, ...others] = gateways.filter((g) => g.spec?.gatewayClassName === accepted.metadata.name).sort(byAge);
  selection.gateway = oldest;
  selection.olderGatewayExists = others;
  return selection;
}
