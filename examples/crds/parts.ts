// Building blocks of the CRD schemas examples/crds/generate.ts writes: the helpers, the patterns and
// the pieces several of Contour's CRDs share (header matches, upstream validation, global rate
// limits, external authorization, conditions). Written from Contour 1.33's API, in our own words.
export type Schema = Record<string, unknown>;

export const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
export const bool = (description: string): Schema => ({ type: "boolean", description });
export const int = (description: string, extra: Schema = {}): Schema => ({ type: "integer", description, ...extra });
export const obj = (description: string, properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({
  type: "object",
  description,
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...extra,
});
export const arr = (description: string, items: Schema, extra: Schema = {}): Schema => ({ type: "array", description, items, ...extra });
/** An object whose fields are not described (a status field isobar does not write). */
export const freeForm = (description: string): Schema => ({ type: "object", description, "x-kubernetes-preserve-unknown-fields": true });

export const duration = "^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+|infinity|infinite)$";
export const durationNoInfinity = "^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+)$";
export const hostname = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
export const headerToken = "^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$";

export const headerMatch = obj(
  "A header condition; exactly one matcher.",
  {
    name: str("Header name (case-insensitive)."),
    present: bool("The header is present."),
    notpresent: bool("The header is absent."),
    contains: str("The header value contains this string."),
    notcontains: str("The header value does not contain this string."),
    ignoreCase: bool("Compare values case-insensitively (exact, notexact, contains, notcontains)."),
    exact: str("The header value equals this string."),
    notexact: str("The header value does not equal this string."),
    regex: str("The header value matches this RE2 regular expression."),
    treatMissingAsEmpty: bool("With notcontains/notexact: a missing header counts as the empty string."),
  },
  ["name"],
);
export const loadBalancerPolicy = obj("Load balancing policy.", {
  strategy: str("RoundRobin (default), WeightedLeastRequest, Random, Cookie or RequestHash."),
  requestHashPolicies: arr(
    "Request attributes hashed with the RequestHash strategy.",
    obj("One hashed attribute; exactly one of headerHashOptions, queryParameterHashOptions, hashSourceIP.", {
      terminal: bool("Skip later hash policies when this one produced a hash."),
      headerHashOptions: obj("Hash a header.", { headerName: str("Header name.", { minLength: 1 }) }, ["headerName"]),
      queryParameterHashOptions: obj("Hash a query parameter.", { parameterName: str("Parameter name.", { minLength: 1 }) }, ["parameterName"]),
      hashSourceIP: bool("Hash the client address."),
    }),
  ),
});
export const upstreamValidation = obj(
  "How the backend's certificate is verified.",
  {
    caSecret: str("Secret (`name` or `namespace/name`, delegated) holding ca.crt.", { minLength: 1, maxLength: 317 }),
    subjectName: str("Name expected in the certificate's subjectAltName.", { minLength: 1, maxLength: 250 }),
    subjectNames: arr("Names accepted in subjectAltName; the first must equal subjectName.", { type: "string" }, { minItems: 1, maxItems: 8 }),
  },
  ["caSecret", "subjectName"],
  { "x-kubernetes-validations": [{ message: "subjectNames[0] must equal subjectName if set", rule: "has(self.subjectNames) ? self.subjectNames[0] == self.subjectName : true" }] },
);
export const globalRateLimit = obj("Global rate limit (needs a rate limit service).", {
  disabled: bool("Disable the virtual host's global rate limit on this route."),
  descriptors: arr(
    "Descriptors sent to the rate limit service.",
    obj(
      "One descriptor.",
      {
        entries: arr(
          "The entries of the descriptor.",
          obj("One entry; exactly one kind.", {
            genericKey: obj("A static key and value.", { key: str("Key (generic_key by default)."), value: str("Value.", { minLength: 1 }) }, ["value"]),
            requestHeader: obj("A request header's value.", { headerName: str("Header name.", { minLength: 1 }), descriptorKey: str("Key.", { minLength: 1 }) }, ["descriptorKey", "headerName"]),
            requestHeaderValueMatch: obj(
              "A value when request headers match.",
              {
                headers: arr("Header conditions.", headerMatch, { minItems: 1 }),
                value: str("Value.", { minLength: 1 }),
                expectMatch: { type: "boolean", description: "Whether the headers must match (true) or not match.", default: true },
              },
              ["value"],
            ),
            remoteAddress: obj("The client address.", {}),
          }),
          { minItems: 1 },
        ),
      },
      ["entries"],
    ),
    { minItems: 1 },
  ),
});
export const authPolicy = obj("Authorization settings of a route or virtual host.", {
  disabled: bool("Skip external authorization."),
  context: { type: "object", description: "Context sent to the authorization server.", additionalProperties: { type: "string" } },
});
export const authorizationServer = obj("External authorization server.", {
    extensionRef: obj("The ExtensionService of the authorization server.", {
      apiVersion: str("API version of the ExtensionService.", { minLength: 1 }),
      namespace: str("Namespace.", { minLength: 1 }),
      name: str("Name.", { minLength: 1 }),
    }),
    responseTimeout: str("Timeout of an authorization check.", { pattern: duration }),
    failOpen: bool("Let requests through when the server does not answer."),
    authPolicy,
    withRequestBody: obj("Send the request body to the server.", {
      maxRequestBytes: int("Bytes buffered.", { format: "int32", default: 1024, minimum: 1 }),
      allowPartialMessage: bool("Send a partial body."),
      packAsBytes: bool("Send the body as bytes."),
    }),
});
export const subCondition = obj("An error or warning.", { type: str("Error type."), status: str("True or False."), reason: str("Machine-readable reason."), message: str("What is wrong, naming the objects.") }, ["message", "reason", "status", "type"]);
export const detailedCondition = obj(
  "A condition with error and warning sub-conditions.",
  {
    type: str("Condition type (Valid)."),
    status: str("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
    reason: str("Reason."),
    message: str("Message."),
    observedGeneration: int("Generation the condition was computed for.", { format: "int64", minimum: 0 }),
    lastTransitionTime: str("When the status last changed.", { format: "date-time" }),
    errors: arr("Errors.", subCondition),
    warnings: arr("Warnings.", subCondition),
  },
  ["lastTransitionTime", "message", "reason", "status", "type"],
);

export function crd(options: { kind: string; version?: string; plural: string; singular: string; shortNames?: string[]; spec: Schema; status: Schema; columns?: Schema[]; description: string }): Schema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${options.plural}.projectcontour.io` },
    spec: {
      group: "projectcontour.io",
      names: { kind: options.kind, listKind: `${options.kind}List`, plural: options.plural, singular: options.singular, ...(options.shortNames ? { shortNames: options.shortNames } : {}) },
      scope: "Namespaced",
      versions: [
        {
          name: options.version ?? "v1",
          served: true,
          storage: true,
          ...(options.columns ? { additionalPrinterColumns: options.columns } : {}),
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: obj(options.description, {
              apiVersion: str("APIVersion of this representation of an object."),
              kind: str("Kind of this object."),
              metadata: { type: "object" },
              spec: options.spec,
              status: options.status,
            }, ["metadata", "spec"]),
          },
        },
      ],
    },
  };
}

