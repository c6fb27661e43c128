export {
  FAULT_KINDS,
  FaultConfigError,
  faultConfigSchema,
  faultsFromEnv,
  parseFaultConfig,
  readFaultConfig,
  type DuplicateDeliveries,
  type FaultConfig,
  type FaultConfigInput,
  type FaultKind,
  type FaultRule,
} from "./config.ts";
export { createDuplicateDeliverer, type DuplicateDeliverer, type DuplicateStats, type SqsStore } from "./duplicates.ts";
export {
  createFaultInjector,
  FAULTS_ADMIN_PATH,
  type FaultControl,
  type FaultInjector,
  type FaultRuleState,
  type FaultState,
} from "./injector.ts";
export { operationOf } from "./operations.ts";
export { FAULT_SERVICES, WIRE_ERRORS, type FaultService, type WireError } from "./wire.ts";
