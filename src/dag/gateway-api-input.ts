// The Gateway API input of one build: the objects that passed their CRD schema check, with its defaults (manifests;
// a cluster's API server has checked them already), which GatewayClass and Gateway this agent
// serves (gateway-select.ts), and the status that goes with that choice: GatewayClass Accepted
// and SupportedVersion, Gateway Accepted (the processor, gateway-processor.ts, adds Programmed and
// the listeners).
import type { DagCache } from "./cache.ts";
import { gatewayApiBundleVersion, gatewayCrdChecked } from "./crd-schema.ts";
import type { Gateway, GatewayApiObjects, GatewayClass } from "./gateway-api-types.ts";
import { defaultGatewayControllerName, selectGateway, type GatewaySelection } from "./gateway-select.ts";
import type { BuildContext, DagOptions } from "./processor.ts";
import type { KubeCondition, ObjectRef, StatusRecorder } from "./status.ts";

/** What a Gateway API processor starts from. */
export interface GatewayApiInput {
  /** Only objects whose schema holds (when checked), sorted by namespace/name. */
  objects: GatewayApiObjects;
  selection: GatewaySelection;
}

type Checked = { kind: string; apiVersion: string; metadata: { namespace?: string; name: string; generation?: number }; spec?: unknown };

function refOf(object: Checked): ObjectRef {
  return { kind: object.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name };
}

/**
 * Manifests: the objects with their CRD's defaults applied (as an API server would have) whose
 * schema holds; each error on another is SpecNotValid naming the field.
 */
function schemaValid<T extends Checked>(objects: T[], check: boolean, { status, cache }: { status: StatusRecorder; cache: DagCache }): T[] {
  if (!check) return objects;
  const valid: T[] = [];
  for (const object of objects) {
    const checked = gatewayCrdChecked(object as never, cache) as { object: T; errors: string[] } | undefined;
    for (const message of checked?.errors ?? []) status.error(refOf(object), { type: "SpecError", reason: "SpecNotValid", message });
    if (!checked) valid.push(object);
    else if (checked.errors.length === 0) valid.push(checked.object);
  }
  return valid;
}

function supportedVersion(options: DagOptions): KubeCondition {
  const supported = (version: string) => version.startsWith(gatewayApiBundleVersion.replace(/\.\d+$/, "."));
  if (options.checkCrdSchema) {
    return { type: "SupportedVersion", status: "True", reason: "SupportedVersion", message: `manifests are checked against the Gateway API ${gatewayApiBundleVersion} CRD schemas` };
  }
  const found = options.gateway?.bundleVersion?.();
  if (found === undefined) {
    return { type: "SupportedVersion", status: "False", reason: "UnsupportedVersion", message: `the bundle version of the Gateway API CRDs could not be read (annotation gateway.networking.k8s.io/bundle-version of CRD gatewayclasses.gateway.networking.k8s.io); ${gatewayApiBundleVersion} is supported. Resources are reconciled with best effort` };
  }
  return supported(found)
    ? { type: "SupportedVersion", status: "True", reason: "SupportedVersion", message: `Gateway API CRD bundle version ${found} is supported` }
    : { type: "SupportedVersion", status: "False", reason: "UnsupportedVersion", message: `Gateway API CRD bundle version ${found} is not supported (${gatewayApiBundleVersion} is). Resources are reconciled with best effort` };
}

function recordSelection(selection: GatewaySelection, options: DagOptions, status: StatusRecorder): void {
  const classCondition = (gatewayClass: GatewayClass, condition: KubeCondition) => status.condition(refOf(gatewayClass), gatewayClass.metadata.generation, condition);
  const gatewayCondition = (gateway: Gateway, condition: KubeCondition) => status.condition(refOf(gateway), gateway.metadata.generation, condition);
  const version = supportedVersion(options);
  if (selection.acceptedClass) {
    classCondition(selection.acceptedClass, { type: "Accepted", status: "True", reason: "Accepted", message: "Valid GatewayClass" });
    classCondition(selection.acceptedClass, version);
  }
  for (const younger of selection.olderClassExists) {
    const message = `another older GatewayClass with controllerName ${selection.controllerName} exists: ${selection.acceptedClass?.metadata.name}`;
    classCondition(younger, { type: "Accepted", status: "False", reason: "OlderGatewayClassExists", message });
    classCondition(younger, version);
  }
  if (selection.gateway) {
    gatewayCondition(selection.gateway, { type: "Accepted", status: "True", reason: "Accepted", message: `Gateway is accepted: its GatewayClass ${selection.acceptedClass?.metadata.name} is served by this agent` });
  }
  const served = selection.gateway && `${selection.gateway.metadata.namespace}/${selection.gateway.metadata.name}`;
  for (const other of selection.olderGatewayExists) {
    const message = `an older Gateway of GatewayClass ${selection.acceptedClass?.metadata.name} exists and is the one served: ${served}`;
    gatewayCondition(other, { type: "Accepted", status: "False", reason: "OlderGatewayExists", message });
    gatewayCondition(other, { type: "Programmed", status: "False", reason: "OlderGatewayExists", message });
  }
}

/**
 * The Gateway API input, with the selection's status recorded; undefined when the input has no
 * Gateway API objects at all. Classes and Gateways of other controllers are not checked, selected
 * or given any status.
 */
export function gatewayApiInput(ctx: Pick<BuildContext, "input" | "options" | "status" | "cache">): GatewayApiInput | undefined {
  const { input, options, status } = ctx;
  const all = input.gatewayApi?.();
  if (!all) return undefined;
  const check = options.checkCrdSchema === true;
  const controllerName = options.gateway?.controllerName ?? defaultGatewayControllerName;
  // Ours by name first (even when invalid), so only our Gateways are checked and reported.
  const oursByName = new Set(all.gatewayClasses.filter((c) => c.spec?.controllerName === controllerName).map((c) => c.metadata.name));
  const gatewayClasses = schemaValid(all.gatewayClasses.filter((c) => oursByName.has(c.metadata.name)), check, ctx);
  const gateways = schemaValid(all.gateways.filter((g) => oursByName.has(g.spec?.gatewayClassName)), check, ctx);
  const objects: GatewayApiObjects = {
    gatewayClasses,
    gateways,
    httpRoutes: schemaValid(all.httpRoutes, check, ctx),
    grpcRoutes: schemaValid(all.grpcRoutes, check, ctx),
    tlsRoutes: schemaValid(all.tlsRoutes, check, ctx),
    tcpRoutes: schemaValid(all.tcpRoutes, check, ctx),
    referenceGrants: schemaValid(all.referenceGrants, check, ctx),
    backendTLSPolicies: schemaValid(all.backendTLSPolicies, check, ctx),
    namespaces: all.namespaces,
  };
  const selection = selectGateway(gatewayClasses, gateways, { controllerName, gatewayRef: options.gateway?.gatewayRef });
  recordSelection(selection, options, status);
  return { objects, selection };
}
