/**
 * The deployment's own KMS keys, read back from the app's real sst.config.ts (the repository
 * root's) run against the recording stand-ins: one key per declared key, rotating, behind the
 * alias devcloud gives it.
 */
import { renderAwsApiResources, topology } from "@quire/topology";
import { describe, expect, it } from "vitest";
import { sharedNames } from "../src/index.ts";
import { RECORDED_ACCOUNT, RECORDED_REGION, runSstConfig, type Recorded } from "./recording-sst.ts";

const DEPLOY_ENV = { QUIRE_EMAIL_SENDER: "notifications@example.com" };
const of = (recorded: Recorded[], kind: string) => recorded.filter((r) => r.kind === kind);
const argsOf = (r: Recorded) => r.args[0] as Record<string, unknown>;

describe("the app's KMS keys", () => {
  it("a symmetric key per declared key, with yearly rotation, behind alias/<app>-<stage>-<logical> (devcloud's name)", async () => {
    const { recorded } = await runSstConfig("../../sst.config.ts", "staging", DEPLOY_ENV);
    const names = sharedNames(topology, { stage: "staging", accountId: RECORDED_ACCOUNT, region: RECORDED_REGION });
    const keys = of(recorded, "aws.kms.Key");
    const aliases = of(recorded, "aws.kms.Alias");
    expect(keys.map((k) => k.name)).toEqual(
      Object.keys(topology.keys).map((l) => `${l[0]!.toUpperCase()}${l.slice(1)}Key`),
    );
    expect(argsOf(keys[0]!)).toEqual({
      description: topology.keys.secrets.description,
      keyUsage: "ENCRYPT_DECRYPT",
      customerMasterKeySpec: "SYMMETRIC_DEFAULT",
      enableKeyRotation: true,
      rotationPeriodInDays: 365,
      deletionWindowInDays: 7,
    });
    expect(aliases.map(argsOf)).toEqual([
      { name: names.keyAlias("secrets"), targetKeyId: "recorded:aws.kms.Key:SecretsKey:keyId" },
    ]);
    expect(names.keyAlias("secrets")).toBe("alias/quire-staging-secrets");
    // The same alias devcloud provisions for the same stage prefix.
    expect(renderAwsApiResources(topology, "quire-staging").keys.map((k) => k.aliasName)).toEqual([
      names.keyAlias("secrets"),
    ]);
  });

  it("a production stage's key waits KMS's longest deletion window (30 days)", async () => {
    const { recorded } = await runSstConfig("../../sst.config.ts", "production", DEPLOY_ENV);
    expect(of(recorded, "aws.kms.Key").map((k) => argsOf(k).deletionWindowInDays)).toEqual([30]);
  });
});
