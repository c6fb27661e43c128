/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Quire's shared infrastructure on AWS, deployed once per stage before the services:
 * `npx turbo run deploy --filter=@quire/infra -- --stage <stage>`. It renders the topology
 * declaration (packages/topology) — topic, queues and DLQs, bus, tables, bucket — plus the SES
 * identity, the dashboard and the alarms. Each service deploys itself from services/<name>.
 */
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return { name: "quire-infra", home: "aws", removal: production ? "retain" : "remove", protect: production };
  },
  async run() {
    const { deploySharedInfrastructure } = await import("./src/index.ts");
    return deploySharedInfrastructure($app.stage);
  },
});
