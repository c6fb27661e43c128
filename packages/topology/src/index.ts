export type * from "./types.ts";
export { topology, type QuireTopology, type QueueName, type TableName } from "./topology.ts";
export { toEventPattern } from "./render/event-pattern.ts";
export { renderAwsApiResources, physicalName, type AwsApiResources } from "./render/aws-api.ts";
export { renderSstResources, componentName, type SstAwsComponents } from "./render/sst.ts";
export { serviceWiring, type ServiceWiring } from "./services.ts";
