/// <reference path="../../infra/.sst/platform/config.d.ts" />

/**
 * The notifier service on AWS, deployed on its own against its stage's shared infrastructure
 * (infra/sst.config.ts, deployed first): `npx turbo run deploy --filter=@quire/notifier -- --stage <stage>`.
 * What it creates is declared in packages/topology (topology.services.notifier).
 */
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return { name: "quire-notifier", home: "aws", removal: production ? "retain" : "remove", protect: production };
  },
  async run() {
    const { deployService } = await import("@quire/infra");
    return deployService("notifier", $app.stage, { dev: $dev });
  },
});
