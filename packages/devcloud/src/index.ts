export { startDevcloud, DEFAULT_DEVCLOUD_PORT, DEVCLOUD_ACCOUNT, type Devcloud, type DevcloudOptions } from "./devcloud.ts";
export { provisionResources, resourceEnvironment, type AwsClientSettings, type ProvisionedResources } from "./provision.ts";
export { compileEventPattern, InvalidEventPatternError, type CompiledEventPattern } from "./eventbridge/pattern/index.ts";
export type { OutboxEntry } from "./ses/outbox.ts";
