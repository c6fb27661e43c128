/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Quire on AWS. Every resource comes from the one topology declaration in packages/topology;
 * this file adds nothing to that list, it only renders it (and, later, the functions that
 * consume the queues).
 */
export default $config({
  app(input) {
    return {
      name: "quire",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    const { topology, renderSstResources } = await import("./packages/topology/src/index.ts");
    const resources = renderSstResources(topology, sst.aws);
    return {
      topic: resources.topics.documents!.arn,
      bus: resources.buses.events!.name,
    };
  },
});
