/**
 * Recording stand-ins for the `sst.aws` components the topology renderer uses: each records
 * its constructor arguments and method calls, so a test can read back what sst.config.ts wires.
 */
export interface RecordedComponent {
  kind: string;
  name: string;
  args: Record<string, unknown> | undefined;
  calls: { method: string; name: string; target: unknown; args: Record<string, unknown> | undefined }[];
}

export function createRecordingSst() {
  const components: RecordedComponent[] = [];
  const componentClass = (kind: string) =>
    class {
      readonly record: RecordedComponent;
      readonly arn: string;
      readonly name: string;
      constructor(name: string, args?: Record<string, unknown>) {
        this.record = { kind, name, args, calls: [] };
        this.arn = `arn:recorded:${kind}:${name}`;
        this.name = name;
        components.push(this.record);
      }
      subscribeQueue(name: string, target: unknown, args?: Record<string, unknown>) {
        this.record.calls.push({ method: "subscribeQueue", name, target, args });
        return {};
      }
    };
  const aws = {
    SnsTopic: componentClass("SnsTopic"),
    Queue: componentClass("Queue"),
    Bus: componentClass("Bus"),
    Dynamo: componentClass("Dynamo"),
    Bucket: componentClass("Bucket"),
  };
  return { sst: { aws }, components };
}
