// Cookie rewriting (HTTPProxy cookieRewritePolicies) without templating user strings into code:
// one constant Lua script reads its rules from the route's metadata, which is plain data. Each
// weighted cluster of such a route marks its responses with its index in a response header the
// router sets (overwriting whatever the upstream sent), so the script applies that cluster's rules.
import type { CookieRewritePolicy, Route, WeightedCluster } from "../dag/types.ts";
import type { JsonObject } from "./common.ts";

/** The response header carrying the weighted cluster's index from the router to the script. */
export const COOKIE_REWRITE_HEADER = "x-isobar-cookie-rewrite";

/** The filter name the Lua filter is registered under; route metadata is keyed by it. */
const LUA_FILTER = "envoy.filters.http.lua";

/** Never changes, never contains user input: rules come from route metadata. */
export const COOKIE_REWRITE_SCRIPT = `-- isobar cookie rewriting: rules are route metadata (data), never part of this code.
local function trim(s)
  return (string.gsub(s, "^%s*(.-)%s*$", "%1"))
end

local function rewrite(cookie, policy)
  local parts = {}
  for part in string.gmatch(cookie, "[^;]+") do
    parts[#parts + 1] = trim(part)
  end
  local out = { parts[1] }
  for i = 2, #parts do
    local attribute = string.lower(trim(string.match(parts[i], "^[^=]*")))
    local replaced = (attribute == "path" and policy.path ~= nil)
      or (attribute == "domain" and policy.domain ~= nil)
      or (attribute == "samesite" and policy.same_site ~= nil)
      or (attribute == "secure" and policy.secure ~= nil)
    if not replaced then
      out[#out + 1] = parts[i]
    end
  end
  if policy.path ~= nil then out[#out + 1] = "Path=" .. policy.path end
  if policy.domain ~= nil then out[#out + 1] = "Domain=" .. policy.domain end
  if policy.same_site ~= nil then out[#out + 1] = "SameSite=" .. policy.same_site end
  if policy.secure == true then out[#out + 1] = "Secure" end
  return table.concat(out, "; ")
end

function envoy_on_response(response_handle)
  local headers = response_handle:headers()
  local key = headers:get("${COOKIE_REWRITE_HEADER}")
  if key == nil then
    return
  end
  headers:remove("${COOKIE_REWRITE_HEADER}")
  local rules = response_handle:metadata():get("cookie_rewrites")
  if rules == nil or rules[key] == nil then
    return
  end
  local policies = rules[key]
  local cookies = {}
  for name, value in pairs(headers) do
    if name == "set-cookie" then
      cookies[#cookies + 1] = value
    end
  end
  if #cookies == 0 then
    return
  end
  headers:remove("set-cookie")
  for _, cookie in ipairs(cookies) do
    local name = string.match(cookie, "^%s*([^=;]-)%s*=")
    local policy = name and policies[name]
    if policy then
      cookie = rewrite(cookie, policy)
    end
    headers:add("set-cookie", cookie)
  end
end
`;

/** Whether a route needs the cookie rewriting machinery. */
export function hasCookieRewrites(route: Route): boolean {
  return Boolean(route.cookieRewrites?.length || route.clusters.some((c) => c.cookieRewrites?.length));
}

/** Route policies first, cluster policies override them field by field (as Contour merges). */
function mergedPolicies(route: Route, cluster: WeightedCluster): Record<string, JsonObject> {
  const merged = new Map<string, JsonObject>();
  for (const policy of [...(route.cookieRewrites ?? []), ...(cluster.cookieRewrites ?? [])]) {
    const entry = merged.get(policy.name) ?? {};
    Object.assign(entry, attributes(policy));
    merged.set(policy.name, entry);
  }
  const names = [...merged.keys()].sort();
  return Object.fromEntries(names.map((name) => [name, merged.get(name)!]));
}

function attributes(policy: CookieRewritePolicy): JsonObject {
  const out: JsonObject = {};
  if (policy.pathRewrite !== undefined) out.path = policy.pathRewrite;
  if (policy.domainRewrite !== undefined) out.domain = policy.domainRewrite;
  if (policy.sameSite !== undefined) out.same_site = policy.sameSite;
  if (policy.secure !== undefined) out.secure = policy.secure;
  return out;
}

/** The route metadata holding the rules of each weighted cluster (in the order given), by index. */
export function cookieRewriteMetadata(route: Route, clusters: WeightedCluster[]): JsonObject {
  const rules: JsonObject = {};
  clusters.forEach((cluster, index) => {
    const policies = mergedPolicies(route, cluster);
    if (Object.keys(policies).length > 0) rules[String(index)] = policies;
  });
  return { filter_metadata: { [LUA_FILTER]: { cookie_rewrites: rules } } };
}

/** The marker a weighted cluster's responses carry to the script. */
export function cookieRewriteMarker(index: number): JsonObject {
  return { header: { key: COOKIE_REWRITE_HEADER, value: String(index) }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" };
}
