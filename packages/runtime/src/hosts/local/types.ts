import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../../logger.ts";
import type { RedeliveryPolicy } from "../../redelivery.ts";

export interface LocalRunnerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Where permanent failures go at once. Without it they are retried until SQS's redrive moves them. */
  deadLetterQueueUrl?: string | undefined;
  /** Most messages in flight at once (default 10). */
  concurrency?: number | undefined;
  /** Long poll (default 20). */
  waitTimeSeconds?: number | undefined;
  /** The queue's visibility timeout; heartbeats extend it by this much. Default: read from the queue. */
  visibilityTimeoutSeconds?: number | undefined;
  /** How often a running handler's message is made invisible again (default visibility / 3). */
  heartbeatIntervalSeconds?: number | undefined;
  /**
   * On stop(): how long in-flight handlers may finish before they are aborted and released
   * (default 10000). A pending long poll is cut at once, so an idle runner stops promptly.
   */
  shutdownGraceMs?: number | undefined;
  /**
   * Seconds until a transiently failed message is visible again, by its receive count; `false`
   * leaves the queue's visibility timeout. Default: the redelivery policy's growing, jittered
   * delay (2, 4, 8 … s up to 5 minutes; see redelivery.ts), lengthened by a failure's own hint.
   */
  retryDelaySeconds?: ((receiveCount: number, visibilityTimeoutSeconds: number) => number) | false | undefined;
  /** Backoff and age budget for transient failures (default DEFAULT_REDELIVERY_POLICY). */
  redelivery?: Partial<RedeliveryPolicy> | undefined;
  /** Deliveries before SQS redrives to the DLQ; default: read from the queue's RedrivePolicy. */
  maxReceiveCount?: number | undefined;
  /**
   * Backpressure from downstream (the Bedrock governor): receive no more than `free()` messages
   * on top of the slot limit, and while it is 0 wait instead of receiving, so no message sits
   * received-but-unstarted, burning its visibility timeout.
   */
  admission?: RunnerAdmission | undefined;
  log?: Logger | undefined;
}

export interface RunnerAdmission {
  /** How many more messages could start work now. */
  free(): number;
  /**
   * The runner took these many messages (they will ask for capacity as they start); 0 when a receive
   * found none — the queue has no backlog, so a consumer held back now is not starved for work.
   */
  taken(count: number): void;
  /** Resolves when free() may have changed; rejects when the signal aborts. */
  wait(signal: AbortSignal): Promise<void>;
}

export interface LocalRunnerStats {
  /** Messages received (those released unstarted at shutdown included). */
  received: number;
  succeeded: number;
  /** Handler failures left on the queue for redelivery (transient, or permanent without a DLQ). */
  failed: number;
  deadLettered: number;
  /** Handlers running now. */
  inFlight: number;
  /** Total time spent in handlers (ms), for the per-message cost of this hop. */
  handlerMs: number;
  /** Receives failed in a row just now (devcloud or SQS unreachable); 0 once one succeeds. */
  receiveFailures: number;
}

/** What the runner counts as it settles messages (LocalRunnerStats without the live gauges). */
export type SettledCounts = Pick<LocalRunnerStats, "received" | "succeeded" | "failed" | "deadLettered" | "handlerMs">;

/**
 * Where a runner is: reading its queue's settings, polling (receiving and handling; a receive
 * that fails is retried with backoff, and `stats.receiveFailures` counts the streak), stopping
 * (no more receives, in-flight handlers finishing or released), stopped.
 */
export type LocalRunnerState = "starting" | "polling" | "stopping" | "stopped";

export interface LocalRunner {
  /** Stop receiving, let in-flight handlers finish within the grace period, release the rest. */
  stop(): Promise<void>;
  readonly state: LocalRunnerState;
  readonly stats: LocalRunnerStats;
}
