// The Gateway API flags `agent serve` and `agent validate` share: which controller's GatewayClasses
// are ours and, optionally, the one Gateway to serve.
import { defaultGatewayControllerName } from "../dag/gateway-select.ts";
import { CliError } from "./errors.ts";

export const gatewayArgs = {
  "gateway-controller-name": {
    type: "string",
    valueHint: "NAME",
    // The default is spelled in the text, not as citty's "(default: …)", so the help can wrap it.
    description: `serve GatewayClasses with this controllerName (the oldest one; Gateways of other controllers are left alone); default ${defaultGatewayControllerName}`,
  },
  "gateway-ref": {
    type: "string",
    valueHint: "NS/NAME",
    description: "serve this Gateway (its class must be ours); default: the oldest Gateway of the accepted GatewayClass",
  },
} as const;

// A controllerName as the GatewayClass CRD spells it: a domain prefix, a slash, a path.
const controllerNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The DAG's gateway options from the flags; a bad value is a CliError naming the flag. */
export function gatewayFlags(args: Record<string, unknown>): { controllerName: string; gatewayRef?: { namespace: string; name: string } } {
  const controllerName = String(args["gateway-controller-name"] ?? defaultGatewayControllerName);
  if (controllerName.length > 253 || !controllerNamePattern.test(controllerName)) {
    throw new CliError(`--gateway-controller-name must be a domain-prefixed path such as example.com/gateway-controller, got ${JSON.stringify(controllerName)}`);
  }
  const ref = args["gateway-ref"];
  if (ref === undefined || ref === "") return { controllerName };
  const [namespace, name, ...rest] = String(ref).split("/");
  if (rest.length > 0 || !namespace || !name || namespace.length > 63 || !dnsLabel.test(namespace) || name.length > 253 || !dnsSubdomain.test(name)) {
    throw new CliError(`--gateway-ref must be NAMESPACE/NAME of a Gateway, got ${JSON.stringify(ref)}`);
  }
  return { controllerName, gatewayRef: { namespace, name } };
}
