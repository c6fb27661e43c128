import { BedrockClient } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * In Lambda (the functions have X-Ray active tracing), Powertools Tracer makes every AWS call a
 * subsegment of the invocation's trace. Outside Lambda it is not even loaded: loading it loads the
 * X-Ray SDK, whose cls-hooked context installs async hooks that make every promise of the process
 * about 10× dearer (300,000 awaited promises: 29 ms without, 290–320 ms with it loaded, tracer
 * disabled or not) — in a long-running local worker, a tax on every message for nothing.
 */
const tracer = process.env.AWS_LAMBDA_FUNCTION_NAME
  ? new (await import("@aws-lambda-powertools/tracer")).Tracer()
  : undefined;

/**
 * The AWS clients a service uses. Endpoints come from the standard AWS_ENDPOINT_URL(_<SERVICE>)
 * variables, so the same code talks to devcloud locally and to AWS when deployed. Bedrock's
 * own SDK retries are off: @quire/bedrock retries with its own jittered policy.
 */
export function createAwsClients(env: NodeJS.ProcessEnv = process.env) {
  // Passed explicitly (not left to the SDK's own env lookup) so an `env` other than
  // process.env, as in tests, is honoured too.
  const common = {
    region: env.AWS_REGION ?? "us-east-1",
    ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
      : {}),
  };
  const traced = <C>(client: C): C => (tracer ? tracer.captureAWSv3Client(client) : client);
  return {
    sqs: traced(new SQSClient(common)),
    sns: traced(new SNSClient(common)),
    // devcloud serves S3 path-style only; AWS itself prefers virtual-hosted style.
    s3: traced(new S3Client({ ...common, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL) })),
    dynamodb: traced(new DynamoDBClient(common)),
    events: traced(new EventBridgeClient(common)),
    // Our retry policy owns Bedrock retries, unless QUIRE_BEDROCK_RETRIES=sdk hands them back to the SDK.
    bedrock: traced(new BedrockRuntimeClient({ ...common, maxAttempts: env.QUIRE_BEDROCK_RETRIES === "sdk" ? 3 : 1 })),
    // Bedrock's control plane: batch inference jobs (the batcher). The SDK's standard retries.
    bedrockJobs: traced(new BedrockClient(common)),
    ses: traced(new SESv2Client(common)),
    kms: traced(new KMSClient(common)),
  };
}

export type AwsClients = ReturnType<typeof createAwsClients>;
