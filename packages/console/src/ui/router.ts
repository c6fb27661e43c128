import { useEffect, useState } from "preact/hooks";

/**
 * Hash routes (`#/runs/run_…`): a static host (S3 and CloudFront, or the local server) serves
 * one index.html whatever the route, and a reload or a shared link opens the same page.
 */
export type Route =
  | { page: "runs" }
  | { page: "run"; runId: string }
  | { page: "job"; jobId: string }
  | { page: "dead-letters" }
  | { page: "subscriptions" }
  | { page: "subscription"; subscriptionId: string }
  | { page: "delivery"; deliveryId: string }
  | { page: "throughput" }
  | { page: "outbox" }
  | { page: "not-found"; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/runs";
  const [, first = "", second] = path.split("/").map(decodeURIComponent);
  if (first === "runs") return second ? { page: "run", runId: second } : { page: "runs" };
  if (first === "jobs" && second) return { page: "job", jobId: second };
  if (first === "dead-letters") return { page: "dead-letters" };
  if (first === "subscriptions")
    return second ? { page: "subscription", subscriptionId: second } : { page: "subscriptions" };
  if (first === "deliveries" && second) return { page: "delivery", deliveryId: second };
  if (first === "throughput") return { page: "throughput" };
  if (first === "outbox") return { page: "outbox" };
  return { page: "not-found", path };
}

export const href = {
  runs: () => "#/runs",
  run: (runId: string) => `#/runs/${encodeURIComponent(runId)}`,
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
  deadLetters: () => "#/dead-letters",
  subscriptions: () => "#/subscriptions",
  subscription: (id: string) => `#/subscriptions/${encodeURIComponent(id)}`,
  delivery: (id: string) => `#/deliveries/${encodeURIComponent(id)}`,
  throughput: () => "#/throughput",
  outbox: () => "#/outbox",
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash.startsWith("#/") ? location.hash : ""));
  useEffect(() => {
    // Only `#/…` is a route: an in-page fragment (the skip link's `#main`) keeps the page shown.
    const onChange = () => {
      if (location.hash === "" || location.hash.startsWith("#/")) setRoute(parseRoute(location.hash));
    };
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
