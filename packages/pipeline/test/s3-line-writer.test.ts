import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createS3LineWriter } from "../src/s3-line-writer.ts";

let devcloud: Devcloud;
let s3: S3Client;
beforeAll(async () => {
  devcloud = await startDevcloud({ port: 0, log: () => {} });
  s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true });
});
afterAll(() => devcloud.stop());

it("writes a JSONL object larger than one request may carry, a part at a time, every line in order", async () => {
  const bucket = devcloud.resources.bucketNames.documents!;
  const writer = await createS3LineWriter(s3, bucket, "batch/test/input-0.jsonl");
  const line = (i: number) => JSON.stringify({ recordId: String(i), padding: "x".repeat(1000) });
  // About 20 MiB: more than one part (8 MiB), so the parts' order and the last, short part show.
  for (let i = 0; i < 20_000; i++) await writer.write(line(i));
  await writer.end();
  expect(writer.lines).toBe(20_000);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "batch/test/input-0.jsonl" }));
  expect(head.ContentLength).toBe(writer.bytes);
  const text = await (
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "batch/test/input-0.jsonl" }))
  ).Body!.transformToString();
  const lines = text.split("\n");
  expect(lines).toHaveLength(20_001);
  expect(lines[0]).toBe(line(0));
  expect(lines[19_999]).toBe(line(19_999));
}, 60_000);
