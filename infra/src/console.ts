/**
 * The console on AWS: one CloudFront Router in front of the static site and both HTTP APIs, so
 * the page and `/v1/*` share an origin. The browser then needs no CORS at all, and the console's
 * config (`config.json`, written by its build) points both APIs at that same origin. The two
 * APIs' paths do not overlap, so the Router splits them by prefix (the longest prefix wins):
 * the notifier's `/v1/subscriptions` and `/v1/deliveries`, everything else under `/v1` to
 * ingestion. Nothing secret is built into the site: the user types an API key in the browser.
 */
import { componentName } from "@quire/topology";

/** The notifier's path prefixes; every other `/v1` path is ingestion's. */
export const NOTIFIER_PREFIXES = ["/v1/subscriptions", "/v1/deliveries"] as const;

export function renderConsole(apis: { ingestion: $util.Input<string>; notifier: $util.Input<string> }) {
  const router = new sst.aws.Router(componentName("console", "Router"));
  for (const prefix of NOTIFIER_PREFIXES) router.route(prefix, apis.notifier);
  router.route("/v1", apis.ingestion);
  const site = new sst.aws.StaticSite(componentName("console", "Site"), {
    path: "packages/console",
    // Same origin as the APIs (the Router): config.json's API bases stay empty, so paths are relative.
    build: { command: "npm run build", output: "dist" },
    router: { instance: router },
  });
  return { router, site, url: router.url };
}
