import { AwsServiceError } from "../edge/aws-errors.ts";

/**
 * The JSONPath subset EventBridge accepts in InputPath and InputPathsMap: `$`, dotted
 * members (`$.detail.jobId`) and bracketed members or indexes (`$.detail['job-id']`, `$.resources[0]`).
 */
export function compileJsonPath(path: string): (value: unknown) => unknown {
  if (!path.startsWith("$")) throw new AwsServiceError("ValidationException", `JSONPath must start with $: ${path}`);
  const steps: (string | number)[] = [];
  const step = /\.([A-Za-z0-9_\-$@]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  let position = 1;
  while (position < path.length) {
    step.lastIndex = position;
    const match = step.exec(path);
    if (!match) throw new AwsServiceError("ValidationException", `Unsupported JSONPath: ${path}`);
    steps.push(match[2] !== undefined ? Number(match[2]) : (match[1] ?? match[3] ?? match[4])!);
    position = step.lastIndex;
  }
  return (value) => {
    let node: unknown = value;
    for (const s of steps) {
      if (node === null || typeof node !== "object") return undefined;
      node = (node as Record<string | number, unknown>)[s];
    }
    return node;
  };
}
