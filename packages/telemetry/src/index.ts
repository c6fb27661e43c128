/**
 * @quire/telemetry — Quire's CloudWatch metrics, written as Embedded Metric Format by Powertools
 * Metrics: a JSON line on stdout that CloudWatch Logs turns into metrics in Lambda (and that the
 * CloudWatch agent does elsewhere). Namespace `Quire`, dimension `service`.
 *
 * Locally (`npm start`) metrics are off (POWERTOOLS_METRICS_DISABLED=true), so EMF blobs don't
 * drown the readable logs; set it to false to see them.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export const METRICS_NAMESPACE = "Quire";

/** Every metric Quire emits; the dashboard and alarms in the infra app use these names. */
export const METRIC = {
  jobsCompleted: "JobsCompleted",
  jobsFailed: "JobsFailed",
  bedrockLatency: "BedrockLatency",
  bedrockInputTokens: "BedrockInputTokens",
  bedrockOutputTokens: "BedrockOutputTokens",
  bedrockThrottles: "BedrockThrottles",
  bedrockErrors: "BedrockErrors",
  webhookDeliveries: "WebhookDeliveries",
  webhookFailures: "WebhookFailures",
} as const;

export interface QuireMetrics {
  jobCompleted(): void;
  jobFailed(): void;
  /** One Converse request: its latency and tokens, or the exception it failed with. */
  modelRequest(event: {
    latencyMs: number;
    usage?: { inputTokens: number; outputTokens: number };
    error?: string;
  }): void;
  webhookAttempt(outcome: "delivered" | "failed"): void;
  /** Writes what was recorded since the last flush (one EMF line); a no-op when nothing was. */
  flush(): void;
  /** The Powertools instance, for what this surface does not cover. */
  readonly powertools: Metrics;
}

const instances = new Map<string, QuireMetrics>();

/** One instance per service and process (Powertools buffers values and flushes them together). */
export function metricsFor(service: string): QuireMetrics {
  let instance = instances.get(service);
  if (!instance) {
    instance = createQuireMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service }));
    instances.set(service, instance);
  }
  return instance;
}

export function createQuireMetrics(metrics: Metrics): QuireMetrics {
  let recorded = false;
  const add = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number) => {
    metrics.addMetric(name, unit, value);
    recorded = true;
  };
  return {
    powertools: metrics,
    jobCompleted: () => add(METRIC.jobsCompleted, MetricUnit.Count, 1),
    jobFailed: () => add(METRIC.jobsFailed, MetricUnit.Count, 1),
    modelRequest(event) {
      if (event.error === "ThrottlingException") {
        add(METRIC.bedrockThrottles, MetricUnit.Count, 1);
        return;
      }
      if (event.error !== undefined) {
        add(METRIC.bedrockErrors, MetricUnit.Count, 1);
        return;
      }
      add(METRIC.bedrockLatency, MetricUnit.Milliseconds, event.latencyMs);
      if (event.usage) {
        add(METRIC.bedrockInputTokens, MetricUnit.Count, event.usage.inputTokens);
        add(METRIC.bedrockOutputTokens, MetricUnit.Count, event.usage.outputTokens);
      }
    },
    webhookAttempt: (outcome) =>
      add(outcome === "delivered" ? METRIC.webhookDeliveries : METRIC.webhookFailures, MetricUnit.Count, 1),
    flush() {
      if (!recorded) return;
      recorded = false;
      metrics.publishStoredMetrics();
    },
  };
}
