export type * from "./types.ts";
export {
  stagesSharingModel,
  stagesSharingModelOf,
  topology,
  type DeployedServiceName,
  type QuireTopology,
  type QueueName,
  type TableName,
} from "./topology.ts";
export { toEventPattern } from "./render/event-pattern.ts";
export { renderAwsApiResources, type AwsApiResources } from "./render/aws-api.ts";
export {
  componentName,
  deadLetterQueueName,
  keyAliasName,
  physicalName,
  resourceBindings,
  resourceEnvironmentKey,
  type ResourceBinding,
  type ResourceKind,
} from "./naming.ts";
export { serviceWiring, type ServiceWiring } from "./services.ts";
