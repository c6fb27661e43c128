/**
 * @quire/infra — Quire on AWS with SST. One app, the repository root's sst.config.ts, renders the
 * one topology declaration: the shared resources with their dashboard and alarms, then every
 * service under a component of its own (`<Service>Service`, what `sst deploy --target` names).
 * These run inside the config's `run()`, where SST's globals (`sst`, `aws`, `$util`, `$app`) exist.
 */
import { SST_API_KEY_LINK } from "@quire/config";
import { topology, type ServiceDeployment } from "@quire/topology";
import { resolveDeploymentTarget } from "./names.ts";
import { renderConsole } from "./console.ts";
import { renderObservability } from "./observability.ts";
import { renderService, serviceComponentName } from "./service.ts";
import { readDeploySettings, requireEmailSender } from "./settings.ts";
import { renderSharedInfrastructure } from "./shared.ts";

export { sharedNames, type DeploymentTarget } from "./names.ts";
export {
  SERVICE_COMPONENT_TYPE,
  serviceComponentName,
  serviceDirectory,
  sharedDependencies,
  sharedResourcesOf,
} from "./service.ts";
export { DeploySettingsError, readDeploySettings } from "./settings.ts";
export { renderConsole, renderObservability, renderService, renderSharedInfrastructure };

/** A stage named `production` keeps its data: resources are retained and the stage cannot be removed. */
export const isProductionStage = (stage: string) => stage === "production";

/** The names `sst deploy --target` takes, one per service: `{ ingestion: "IngestionService", … }`. */
export const serviceTargets = () =>
  Object.fromEntries(Object.keys(topology.services).map((service) => [service, serviceComponentName(service)]));

/**
 * The app's run(): the shared infrastructure, its dashboard and alarms, the API key secret (one,
 * for the stage: `npx sst secret set QuireApiKey <key> --stage <stage>`), every service, then
 * the console (a static site behind a Router that also fronts both APIs).
 * Always the whole system: a deploy renders all of it, and `--target` chooses what is applied.
 * (Rendering less would make Pulumi delete what was left out.)
 */
export async function deployQuire(stage: string, options: { dev?: boolean } = {}) {
  const settings = readDeploySettings();
  const target = await resolveDeploymentTarget(stage);
  const shared = renderSharedInfrastructure(topology, target, {
    emailSender: requireEmailSender(settings),
    production: isProductionStage(stage),
  });
  const { dashboard } = renderObservability(topology, target, { alarmEmail: settings.QUIRE_ALARM_EMAIL });
  const services: Record<string, ServiceDeployment> = topology.services;
  const apiKey = Object.values(services).some((service) => service.uses.apiKey)
    ? new sst.Secret(SST_API_KEY_LINK)
    : undefined;
  const apis: Record<string, $util.Output<string>> = {};
  for (const service of Object.keys(services)) {
    const { api } = renderService(topology, service, target, settings, { shared, apiKey, dev: options.dev ?? false });
    if (api) apis[`${service}Api`] = api;
  }
  // The console, in front of both APIs (same origin): its URL is what people open.
  const quireConsole = renderConsole({ ingestion: apis.ingestionApi!, notifier: apis.notifierApi! });
  return {
    console: quireConsole.url,
    topic: shared.topics.documents!.arn,
    bus: shared.buses.events!.name,
    dashboard: dashboard.dashboardName,
    ...apis,
  };
}
