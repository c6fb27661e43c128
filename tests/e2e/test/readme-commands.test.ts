import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startDevcloud, type Devcloud } from "@quire/devcloud";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkCommand,
  checkReadme,
  extractCommands,
  loadRepository,
  PROGRAM_ARGUMENTS,
  PROGRAM_OPTION_NAMES,
  repositoryRoot,
  tokenize,
  type Repository,
} from "./support/readme-commands.ts";

/**
 * Every command the READMEs show works against this repository (issue 12): each shell command of
 * their fenced sh/bash/shell/console blocks, and each inline `npm …` / `npx …` span, is checked by
 * its head — npm scripts and the flags of the programs they run, the real `quire` program, the SST
 * app's commands and components, curl against the OpenAPI documents and devcloud, aws against
 * devcloud — and a head nothing checks fails (support/readme-commands.ts says what is read how).
 */
const READMES = ["README.md", "chaos/README.md", "bench/README.md"];
const read = (file: string) => readFileSync(join(repositoryRoot, file), "utf8");

let devcloud: Devcloud;
let repository: Repository;
beforeAll(async () => {
  // Asked which services it emulates and which /_quire/ endpoints it answers: nothing provisioned.
  devcloud = await startDevcloud({ port: 0, topology: false, log: () => {} });
  repository = await loadRepository(repositoryRoot, devcloud.endpoint);
});
afterAll(() => devcloud?.stop());

describe("every command in the READMEs", () => {
  for (const file of READMES) {
    for (const command of extractCommands(read(file), file)) {
      it(`${file}:${command.line} ${command.text}`, async () => {
        const problems = await checkCommand(command, repository);
        expect(problems, `${file}:${command.line}: \`${command.text}\``).toEqual([]);
      });
    }
  }

  it("are found: each kind of command the README shows is read", () => {
    const commands = READMES.flatMap((file) => extractCommands(read(file), file));
    const heads = new Set(commands.map((c) => c.words[0]!.value));
    for (const head of ["npm", "npx", "curl", "aws", "cat"]) expect(heads).toContain(head); // cat: in a $(…)
    const texts = commands.map((c) => c.text);
    expect(texts).toContain("npm run chaos -- --quick --scenario kill,5xx"); // chaos/README.md
    expect(texts).toContain("npm run devcloud -- --faults faults.json"); // an inline span across two lines
    expect(texts).toContain("npx quire replay --subscription sub_… --since 2026-11-23T08:00:00Z"); // "# or: …"
    expect(texts).toContain("npx quire keys list"); // the indented ```bash block
    expect(commands.filter((c) => c.source === "fence").length).toBeGreaterThan(40);
  });

  it("are checked with the options each program really parses with", () => {
    for (const [program, name] of Object.entries(PROGRAM_OPTION_NAMES)) {
      expect(PROGRAM_ARGUMENTS[program], program).toBeDefined();
      expect(read(program), program).toContain(`parseArgs({ options: ${name} })`);
    }
    expect(read("scripts/service.ts")).toContain("Object.keys(topology.services)");
  });
});

describe("a wrong command fails the check", () => {
  const fence = (...lines: string[]) => ["# A README", "", "```sh", ...lines, "```", ""].join("\n");
  const problemsOf = (markdown: string) => checkReadme(markdown, "FAKE.md", repository);

  it.each([
    // npm scripts and workspaces
    ["npm run devclod", /FAKE\.md:4: `npm run devclod`: no script `devclod` in the root package\.json/],
    ["npm run generate -w @quire/nope", /no workspace @quire\/nope/],
    ["npm run generat -w @quire/cli", /no script `generat` in packages\/cli\/package\.json/],
    ["npm run deploy", /no script `deploy` in the root package\.json/],
    ["npm run --silent bench", /npm flag --silent/],
    ["npm run lint -- --fix", /`lint` \(biome ci \.\) is given arguments, which no spec checks/],
    // the programs' own flags
    ["npm run devcloud -- --prot 4567", /packages\/devcloud\/src\/main\.ts: Unknown option '--prot'/],
    ["npm run devcloud -- --memory=yes", /--memory/],
    ["npm run bench -- --quik", /bench\/src\/main\.ts: Unknown option '--quik'/],
    ["npm run chaos -- --scenario kil,5xx", /no scenario kil/],
    ["npm run service -- summariser", /summariser is not a service/],
    ["npm run service -- classifier --inspekt=9232", /--inspekt=9232 is not a node flag/],
    // quire
    ["npx quire sumbit samples/*.json", /quire rejects it: .*sumbit/],
    ["npx quire submit samples/*.json --wiat", /quire rejects it: unknown option '--wiat'/],
    ["npx quire status job_1 job_2", /quire rejects it: too many arguments/],
    ["npx quire keys create acme", /quire rejects it: required option '--scopes <list>' not specified/],
    ["npx quire subscribe --webhook https://example.com --events job.done", /quire rejects it: .*events are/],
    ["npx quire dlq show summarizer", /quire rejects it: missing required argument 'messageId'/],
    ["npx quire submit samples/nope.json --wait", /samples\/nope\.json matches no file/],
    // sst and turbo
    ["npx sst deplyo --stage production", /sst deplyo: not one of the SST commands/],
    ["npx sst deploy --target SummariserService", /--target SummariserService is not a component of the app/],
    ["npx sst secret set QuireApiKey abc   # once per stage", /says this is per stage, but it names no --stage/],
    ["npx sst secret set ApiKey abc --stage production", /ApiKey is not a secret the app declares/],
    ["npx sst deploy --stage", /--stage needs a value/],
    ["npx turbo run deploi --filter=@quire/summarizer", /turbo\.json declares no task deploi/],
    ["npx turbo run deploy --filter=@quire/summariser", /--filter=@quire\/summariser names no workspace/],
    ["npx turbo run deploy --filter=@quire/summarizer -- --stag production", /sst deploy has no --stag/],
    // curl against the APIs and devcloud
    [
      'curl -X POST http://127.0.0.1:3000/v1/document -H "x-api-key: k"',
      /the ingestion API has no path \/v1\/document/,
    ],
    ["curl -X DELETE http://127.0.0.1:3000/v1/jobs/job_1 -H 'x-api-key: k'", /has no DELETE \/v1\/jobs\/\{jobId\}/],
    ["curl http://127.0.0.1:3001/v1/subscriptions", /needs x-api-key, which the command does not send/],
    ["curl http://127.0.0.1:3000/v1/jobs/job_1?verbose=1 -H 'x-api-key: k'", /has no query parameter verbose/],
    [
      "curl -X POST http://127.0.0.1:3000/v1/documents -H 'x-api-key: k' --data @samples/lease-agreement.json",
      /JSON body without content-type/,
    ],
    ["curl http://127.0.0.1:3002/health", /nothing of Quire's listens at http:\/\/127\.0\.0\.1:3002/],
    ["curl http://127.0.0.1:4566/_quire/helth", /devcloud does not serve GET \/_quire\/helth/],
    ["curl -X POST http://127.0.0.1:4566/_quire/health", /devcloud does not serve POST \/_quire\/health/],
    [
      "curl -X PUT --data @samples/faults.json http://127.0.0.1:4566/_quire/faults",
      /samples\/faults\.json does not exist/,
    ],
    ["curl -H 'authorization: x' http://127.0.0.1:3000/health", /header authorization is not one the checks know/],
    // aws against devcloud
    ["aws --endpoint-url http://127.0.0.1:4566 lambda list-functions", /aws lambda: not a service devcloud emulates/],
    ["aws sqs list-queues", /no --endpoint-url: it would call AWS/],
    [
      "aws --endpoint-url http://127.0.0.1:4567 sqs list-queues",
      /--endpoint-url http:\/\/127\.0\.0\.1:4567 is not devcloud/,
    ],
    [
      "aws --endpoint-url http://127.0.0.1:4566 events put-events --entries '[{\"Source\": }]'",
      /--entries is not JSON/,
    ],
    ["export AWS_ENDPOINT_URL=http://localhost:4577", /AWS_ENDPOINT_URL=http:\/\/localhost:4577 is not devcloud/],
    // anything else
    ["docker compose up", /the README uses `docker`, which no spec checks: add a check or allow it here/],
    ["npx prisma migrate", /npx prisma: no check for it/],
    ["npm ci && yarn build", /the README uses `yarn`/],
  ])("%s", async (command, expected) => {
    const problems = await problemsOf(fence(command));
    expect(problems.join("\n")).toMatch(expected);
  });

  it("names the README line, also inside chains, continuations, substitutions and inline spans", async () => {
    const markdown = [
      "Run `npm run bench -- --quick` or `npm run bnech`.", // line 1
      "",
      "```bash",
      "npm install && \\", // line 4
      "  npm run chaos -- \\",
      "    --scenarios kill",
      'echo "$(npx quire statsu job_1)"', // line 7
      "```",
    ].join("\n");
    const problems = await problemsOf(markdown);
    expect(problems).toEqual([
      expect.stringMatching(
        /^FAKE\.md:4: `npm run chaos -- --scenarios kill`: chaos\/src\/main\.ts: Unknown option '--scenarios'/,
      ),
      expect.stringMatching(/^FAKE\.md:7: `echo .*`: the README uses `echo`, which no spec checks/),
      expect.stringMatching(/^FAKE\.md:7: `npx quire statsu job_1`: quire rejects it/),
      expect.stringMatching(/^FAKE\.md:1: `npm run bnech`: no script `bnech`/),
    ]);
  });

  it("reads sh, bash, shell and console fences, and untagged ones only when they clearly hold commands", async () => {
    const markdown = [
      "```console",
      "$ npm run bnech",
      "npm run output-line-not-a-command",
      "```",
      "```",
      "npm run nothing-here",
      "```",
      "```",
      "Some output: npm run not-read",
      "```",
      "```json",
      '{ "npm": "run x" }',
      "```",
      "```text",
      "npm run not-read-either",
      "```",
    ].join("\n");
    const problems = await problemsOf(markdown);
    expect(problems).toEqual([
      expect.stringMatching(/^FAKE\.md:2: `npm run bnech`/),
      expect.stringMatching(/^FAKE\.md:6: `npm run nothing-here`/),
    ]);
  });
});

describe("reading a shell line", () => {
  const words = (line: string) => tokenize(line).segments.map((segment) => segment.map((w) => w.value));

  it("splits chains, keeps quotes together, drops comments", () => {
    expect(words(`a "b c" 'd # e' && f | g; h   # a comment`)).toEqual([["a", "b c", "d # e"], ["f"], ["g"], ["h"]]);
    expect(tokenize("npm start   # devcloud + services").comment).toBe("devcloud + services");
    expect(words("url#anchor x")).toEqual([["url#anchor", "x"]]);
  });

  it("reads $(…) inside and outside quotes as commands of their own", () => {
    expect(tokenize(`curl -H "x-api-key: $(cat .quire/api-key)" $(echo u)`).substitutions).toEqual([
      "cat .quire/api-key",
      "echo u",
    ]);
  });

  it("keeps <placeholders> whole and reads [--optional parts] as given", () => {
    expect(words("QUIRE_API_URL=<ingestion API URL> quire deliveries sub_… [--status failed]")).toEqual([
      ["QUIRE_API_URL=<ingestion API URL>", "quire", "deliveries", "sub_…", "--status", "failed"],
    ]);
  });

  it("drops leading assignments and joins continued lines", () => {
    const [command] = extractCommands(
      ["```sh", "FOO=1 BAR='x y' npm \\", "  run \\", "  bench", "```"].join("\n"),
      "X.md",
    );
    expect(command).toMatchObject({ line: 2, assignments: ["FOO=1", "BAR=x y"], text: "npm run bench" });
  });
});
