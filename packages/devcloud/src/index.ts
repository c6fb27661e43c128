export {
  startDevcloud,
  DEFAULT_DEVCLOUD_PORT,
  DEVCLOUD_ACCOUNT,
  type Devcloud,
  type DevcloudOptions,
} from "./devcloud.ts";
/** The flags `npm run devcloud -- …` takes. */
export { DEVCLOUD_OPTIONS } from "./cli-options.ts";
export {
  provisionResources,
  resourceEnvironment,
  type AwsClientSettings,
  type ProvisionedResources,
} from "./provision.ts";
export { compileEventPattern, InvalidEventPatternError, type CompiledEventPattern } from "@quire/event-patterns";
export type { OutboxEntry } from "./ses/outbox.ts";
export type { RequestCounter } from "./edge/request-counter.ts";
/** The seeded PRNG the Bedrock emulator draws latency and faults from; simulations elsewhere reuse it. */
export { mulberry32 } from "./bedrock/faults.ts";
export {
  FaultConfigError,
  faultConfigSchema,
  faultsFromEnv,
  parseFaultConfig,
  readFaultConfig,
  type FaultConfigInput,
  type FaultControl,
  type FaultState,
} from "./faults/index.ts";
