import { METRIC, METRICS_NAMESPACE } from "@quire/telemetry";
import type { Topology } from "@quire/topology";
import { sharedNames, type DeploymentTarget } from "./names.ts";

/** A message older than this on a work queue means its consumer is down or falling behind. */
const OLDEST_MESSAGE_ALARM_SECONDS = 15 * 60;

/**
 * What an operator watches: alarms on every DLQ (a message there needs a person) and on the age
 * of the oldest message of every work queue, and one dashboard with the pipeline's metrics
 * (Powertools' EMF metrics in the Quire namespace, and the queues' own).
 */
export function renderObservability(
  topology: Topology,
  target: DeploymentTarget,
  options: { alarmEmail?: string | undefined },
) {
  const names = sharedNames(topology, target);
  const alarms = new sst.aws.SnsTopic("AlarmsTopic");
  if (options.alarmEmail) {
    // The address confirms once, through the link SNS sends it.
    new aws.sns.TopicSubscription("AlarmsEmail", {
      topic: alarms.arn,
      protocol: "email",
      endpoint: options.alarmEmail,
    });
  }

  const queueAlarms = Object.keys(topology.queues).flatMap((logical) => [
    new aws.cloudwatch.MetricAlarm(`${logical}DlqNotEmpty`, {
      alarmDescription: `${names.dlq(logical)} holds messages: each failed for good, with its reason in the quire.failure.* attributes.`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: names.dlq(logical) },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [alarms.arn],
      okActions: [alarms.arn],
    }),
    new aws.cloudwatch.MetricAlarm(`${logical}OldestMessage`, {
      alarmDescription: `A message has waited over ${OLDEST_MESSAGE_ALARM_SECONDS / 60} minutes on ${names.queue(logical)}: its consumer is down or falling behind.`,
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: names.queue(logical) },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 5,
      threshold: OLDEST_MESSAGE_ALARM_SECONDS,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [alarms.arn],
      okActions: [alarms.arn],
    }),
  ]);

  const services = Object.keys(topology.services);
  const stageServices = services.filter((service) => topology.services[service]!.uses.bedrock);
  const quire = (metric: string, service: string, stat = "Sum") => [
    METRICS_NAMESPACE,
    metric,
    "service",
    service,
    { stat, label: `${service} ${metric}` },
  ];
  const widget = (title: string, metrics: unknown[][], extra: object = {}) => ({
    type: "metric",
    width: 12,
    height: 6,
    properties: { title, region: target.region, period: 60, view: "timeSeries", stacked: false, metrics, ...extra },
  });
  const dashboard = new aws.cloudwatch.Dashboard("Dashboard", {
    dashboardName: names.dashboard(),
    dashboardBody: JSON.stringify({
      widgets: [
        widget(
          "Jobs completed and failed",
          stageServices.flatMap((s) => [quire(METRIC.jobsCompleted, s), quire(METRIC.jobsFailed, s)]),
        ),
        widget(
          "Bedrock latency (p50, p95)",
          stageServices.flatMap((s) => [
            quire(METRIC.bedrockLatency, s, "p50"),
            quire(METRIC.bedrockLatency, s, "p95"),
          ]),
        ),
        widget(
          "Bedrock tokens",
          stageServices.flatMap((s) => [quire(METRIC.bedrockInputTokens, s), quire(METRIC.bedrockOutputTokens, s)]),
        ),
        widget(
          "Bedrock throttles and errors",
          stageServices.flatMap((s) => [quire(METRIC.bedrockThrottles, s), quire(METRIC.bedrockErrors, s)]),
        ),
        widget(
          "Queue depth (visible)",
          Object.keys(topology.queues).map((l) => [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            names.queue(l),
            { stat: "Maximum" },
          ]),
        ),
        widget(
          "DLQ depth",
          Object.keys(topology.queues).map((l) => [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            names.dlq(l),
            { stat: "Maximum" },
          ]),
        ),
        widget(
          "Age of oldest message (s)",
          Object.keys(topology.queues).map((l) => [
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "QueueName",
            names.queue(l),
            { stat: "Maximum" },
          ]),
        ),
        widget("Webhook deliveries", [
          quire(METRIC.webhookDeliveries, "notifier"),
          quire(METRIC.webhookFailures, "notifier"),
        ]),
      ],
    }),
  });

  return { alarmsTopic: alarms, queueAlarms, dashboard };
}
