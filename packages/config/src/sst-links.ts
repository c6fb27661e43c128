import { resourceBindings, topology } from "@quire/topology";
import { Resource } from "sst/resource";

/**
 * Deployed with SST, a function finds its resources through links (`Resource.SummarizerQueue.url`),
 * not through hand-set variables. This turns the links into the very variables a local process
 * gets from devcloud, so the rest of the code cannot tell where it runs.
 *
 * A resource the service's deployment does not link (least privilege: the summarizer has no
 * business with the notifier's queue) gets a value that names what is missing, so a call that
 * would need it fails saying so instead of reaching some default.
 */
export const SST_API_KEY_LINK = "QuireApiKey";
export const SST_EMAIL_LINK = "Email";

export type LinkedResources = Record<string, Record<string, unknown> | undefined>;

export const unlinked = (component: string) =>
  `unlinked:${component} (not granted to this function: infra/src/permissions.ts, FUNCTION_ACCESS)`;

/** The QUIRE_* variables that SST links stand for; empty when no links are active (local runs). */
export function environmentFromLinks(links: LinkedResources): Record<string, string> {
  if (links.App === undefined) return {};
  const environment: Record<string, string> = {};
  for (const binding of resourceBindings(topology)) {
    const value = links[binding.component]?.[binding.property];
    environment[binding.environmentKey] = typeof value === "string" ? value : unlinked(binding.component);
  }
  const apiKey = links[SST_API_KEY_LINK]?.value;
  if (typeof apiKey === "string") environment.QUIRE_API_KEY = apiKey;
  // The identity is an address, or a whole domain: then mail comes from notifications@ there.
  const sender = links[SST_EMAIL_LINK]?.sender;
  if (typeof sender === "string")
    environment.QUIRE_EMAIL_FROM = sender.includes("@") ? sender : `Quire <notifications@${sender}>`;
  return environment;
}

/**
 * The links SST gave this process: `Resource` reads them from `SST_RESOURCE_<Name>` variables
 * (and SST's encrypted key file). None outside SST (a local process, a test).
 */
export function sstLinks(env: NodeJS.ProcessEnv): LinkedResources {
  if (env.SST_RESOURCE_App === undefined && env.SST_KEY_FILE === undefined) return {};
  const linked = Resource as unknown as LinkedResources;
  return Object.fromEntries(Object.keys(linked).map((name) => [name, linked[name]]));
}
