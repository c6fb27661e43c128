/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Quire on AWS: one SST app for the whole system, rendered from the one topology declaration
 * (packages/topology) by infra/src. From here, `npx sst deploy --stage <stage>` deploys all of it
 * in dependency order and `npx sst dev` runs every service's functions on this machine.
 *
 * Each service's resources are children of one component named after it (`IngestionService`,
 * `SummarizerService`, `ClassifierService`, `NotifierService`), so a service deploys alone with
 * `sst deploy --target <Service>Service` (its workspace's `npm run deploy`); the shared
 * resources, dashboard and alarms are outside every service's component.
 */
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return { name: "quire", home: "aws", removal: production ? "retain" : "remove", protect: production };
  },
  async run() {
    const { deployQuire } = await import("./infra/src/index.ts");
    return deployQuire($app.stage, { dev: $dev });
  },
});
