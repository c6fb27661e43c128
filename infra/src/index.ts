/**
 * @quire/infra — Quire on AWS with SST. Two kinds of app render the one topology declaration:
 * the infra app (infra/sst.config.ts: shared resources, dashboard, alarms), deployed once per
 * stage, and one app per service (services/<name>/sst.config.ts), each deployed on its own.
 * These run inside an sst.config.ts `run()`, where SST's globals (`sst`, `aws`, `$app`) exist.
 */
import { topology } from "@quire/topology";
import { resolveDeploymentTarget } from "./names.ts";
import { renderObservability } from "./observability.ts";
import { renderService } from "./service.ts";
import { readDeploySettings, requireEmailSender } from "./settings.ts";
import { renderSharedInfrastructure } from "./shared.ts";

export { sharedNames, type DeploymentTarget } from "./names.ts";
export { DeploySettingsError, readDeploySettings } from "./settings.ts";
export { renderObservability, renderService, renderSharedInfrastructure };

/** A stage named `production` keeps its data: resources are retained and the stage cannot be removed. */
export const isProductionStage = (stage: string) => stage === "production";

/** The infra app's run(): the shared resources, their dashboard and alarms. */
export async function deploySharedInfrastructure(stage: string) {
  const settings = readDeploySettings();
  const target = await resolveDeploymentTarget(stage);
  const shared = renderSharedInfrastructure(topology, target, {
    emailSender: requireEmailSender(settings),
    production: isProductionStage(stage),
  });
  const { dashboard } = renderObservability(topology, target, { alarmEmail: settings.QUIRE_ALARM_EMAIL });
  return {
    topic: shared.topics.documents!.arn,
    bus: shared.buses.events!.name,
    dashboard: dashboard.dashboardName,
  };
}

/** A service app's run(): that service alone, against the shared infrastructure of its stage. */
export async function deployService(service: string, stage: string, options: { dev?: boolean } = {}) {
  const settings = readDeploySettings();
  const target = await resolveDeploymentTarget(stage);
  return renderService(topology, service, target, settings, options);
}
