/**
 * S3's single PUT takes up to 5 GiB; fauxqs takes 11 MiB a request. The edge streams a larger
 * PutObject into a multipart upload, so a local upload succeeds where AWS's would, and fails where
 * AWS's would.
 */
import { request } from "node:http";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Devcloud } from "../src/index.ts";
import { startTestDevcloud } from "./support/devcloud.ts";

const MiB = 1024 * 1024;
/** 20 MiB of lines that differ, so a part out of place or missing shows. */
const body = () =>
  Buffer.from(Array.from({ length: 20 * 16_384 }, (_, i) => `${String(i).padStart(63, "0")}\n`).join(""));

describe("a PutObject over what one request to fauxqs carries (11 MiB)", () => {
  let devcloud: Devcloud;
  let s3: S3Client;

  beforeAll(async () => {
    devcloud = await startTestDevcloud({ topology: false });
    s3 = new S3Client({ ...devcloud.clientConfig, forcePathStyle: true, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: "large" }));
  });
  afterAll(() => devcloud.stop());

  const stored = async (key: string) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: "large", Key: key }));
    return { bytes: Buffer.from(await object.Body!.transformToByteArray()), contentType: object.ContentType };
  };

  it("through a presigned URL (a run's manifest upload): stored whole, byte for byte, with its content type", async () => {
    const data = body();
    expect(data.length).toBe(20 * MiB);
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: "large", Key: "manifests/big.ndjson", ContentType: "application/x-ndjson" }),
      { expiresIn: 300 },
    );
    const response = await fetch(url, {
      method: "PUT",
      body: data,
      headers: { "content-type": "application/x-ndjson" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBeTruthy();
    const object = await stored("manifests/big.ndjson");
    expect(object.bytes.equals(data)).toBe(true);
    expect(object.contentType).toBe("application/x-ndjson");
  }, 60_000);

  it("through the SDK's PutObject: stored whole", async () => {
    const data = body();
    await s3.send(new PutObjectCommand({ Bucket: "large", Key: "sdk/big.jsonl", Body: data }));
    expect((await stored("sdk/big.jsonl")).bytes.equals(data)).toBe(true);
  }, 60_000);

  it("declared over S3's 5 GiB: refused EntityTooLarge at once, as AWS refuses it", async () => {
    const url = new URL(
      await getSignedUrl(s3, new PutObjectCommand({ Bucket: "large", Key: "huge.bin" }), { expiresIn: 300 }),
    );
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const put = request(
        url,
        { method: "PUT", headers: { "content-length": String(5 * 1024 * MiB + 1) } },
        (response) => {
          let text = "";
          response.on("data", (chunk) => (text += chunk));
          response.on("end", () => resolve({ status: response.statusCode!, text }));
        },
      );
      put.on("error", reject);
      put.write(Buffer.alloc(1024));
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain("<Code>EntityTooLarge</Code>");
  });
});
