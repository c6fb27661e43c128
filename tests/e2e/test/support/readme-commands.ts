import { existsSync, globSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { buildProgram } from "@quire/cli";
import { SST_API_KEY_LINK } from "@quire/config";
import { DEFAULT_DEVCLOUD_PORT, DEVCLOUD_OPTIONS } from "@quire/devcloud";
import { componentName, topology } from "@quire/topology";
import { BENCH_OPTIONS } from "../../../../bench/src/options.ts";
import { CHAOS_OPTIONS } from "../../../../chaos/src/options.ts";
import { scenarioNames } from "../../../../chaos/src/scenarios.ts";

/**
 * Every command the READMEs show, read the way a shell would split it and checked against the
 * repository: the scripts, workspaces, programs' flags, the `quire` program, the SST app's
 * components, the HTTP APIs' OpenAPI documents and what devcloud serves. A command whose head
 * nothing here checks or allows fails, so a new one cannot slip in unchecked.
 * (tests/e2e/test/readme-commands.test.ts)
 */

// ---------------------------------------------------------------------------------------------
// Reading the Markdown
// ---------------------------------------------------------------------------------------------

/** Fences whose lines are commands. `console` lines are commands only after a `$ ` prompt. */
export const SHELL_FENCES = ["sh", "bash", "shell", "console"];
/**
 * Inline code spans (`…`) are commands too when, past leading `NAME=value` assignments, they
 * start with one of these: the runnable-from-the-root forms. Other spans (`sst dev`, `quire dlq`,
 * `node --watch`) name a tool or a subcommand in prose and are not read as commands.
 */
export const INLINE_HEADS = ["npm", "npx"];

export interface Word {
  value: string;
  /** Any part of it was quoted (so `{…}` is data). */
  quoted: boolean;
  /** As written, quotes and all (`A=b` is an assignment, `'A=b'` is not). */
  raw: string;
}

export interface ReadmeCommand {
  file: string;
  /** 1-based line of the README where the command (its first line) is. */
  line: number;
  source: "fence" | "inline";
  /** The command as read: its words, re-joined. */
  text: string;
  /** The words, leading `NAME=value` assignments dropped. */
  words: Word[];
  /** Those assignments. */
  assignments: string[];
  /** The `# …` comment on its line, if any (one comment per line, shared by a chain). */
  comment: string;
}

/** The README's commands, in order: fenced shell blocks, then the inline spans INLINE_HEADS admits. */
export function extractCommands(markdown: string, file: string): ReadmeCommand[] {
  const lines = markdown.split("\n");
  const commands: ReadmeCommand[] = [];
  // The prose with every fence blanked (line numbers kept), for the inline spans.
  const prose = [...lines];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, tag] = open;
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence![0]}{${fence!.length},}\\s*$`).test(lines[end]!)) end++;
    const body = lines.slice(i + 1, end).map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line));
    for (let j = i; j <= end && j < lines.length; j++) prose[j] = "";
    if (isShellFence(tag!, body)) commands.push(...fenceCommands(body, tag!, file, i + 2));
    i = end;
  }
  const text = prose.join("\n");
  for (const span of text.matchAll(/`([^`]+)`/g)) {
    if (span[1]!.includes("\n\n")) continue; // not a span: a stray backtick
    const line = text.slice(0, span.index).split("\n").length;
    const read = readLine(span[1]!.replaceAll("\n", " "), file, line, "inline");
    const first = read[0];
    if (first && INLINE_HEADS.includes(first.words[0]?.value ?? "")) commands.push(...read);
  }
  return commands;
}

/**
 * A fence holds commands when tagged as a shell; an untagged one only when its first line starts
 * with a head the checks know (it clearly holds commands). Any other language is not read.
 */
function isShellFence(tag: string, body: string[]): boolean {
  if (SHELL_FENCES.includes(tag)) return true;
  if (tag !== "") return false;
  const first = body.find((line) => line.trim() !== "")?.trim() ?? "";
  const head = first.replace(/^\$ /, "").split(/\s+/)[0] ?? "";
  return head in CHECKS || head in ALLOWED_HEADS;
}

function fenceCommands(body: string[], tag: string, file: string, firstLine: number): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  let pending: { text: string; line: number } | undefined;
  body.forEach((raw, index) => {
    const line = firstLine + index;
    let text = raw;
    if (!pending && tag === "console") {
      if (!text.startsWith("$ ")) return; // output, not a command
      text = text.slice(2);
    }
    // `\` at the end of a line continues the command on the next.
    const continued = /\\$/.test(text);
    if (continued) text = text.slice(0, -1);
    pending = pending ? { text: `${pending.text} ${text.trim()}`, line: pending.line } : { text, line };
    if (continued) return;
    commands.push(...readLine(pending.text, file, pending.line, "fence"));
    pending = undefined;
  });
  if (pending) commands.push(...readLine(pending.text, file, pending.line, "fence"));
  return commands;
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const show = (words: Word[]) =>
  words.map((w) => (/\s/.test(w.value) || w.value === "" ? `'${w.value}'` : w.value)).join(" ");

/**
 * One logical line: its `&&` / `||` / `;` / `|` chain split into commands, each `$(…)` inside it
 * read as a command too, and a comment of the form `# or: --flag …` read as the same command with
 * its last word replaced by what follows (the README's way of showing an alternative).
 */
function readLine(text: string, file: string, line: number, source: ReadmeCommand["source"]): ReadmeCommand[] {
  const { segments, comment, substitutions } = tokenize(text);
  const command = (words: Word[]): ReadmeCommand => {
    const assignments: string[] = [];
    while (words.length > 1 && ASSIGNMENT.test(words[0]!.raw)) assignments.push(words.shift()!.value);
    return { file, line, source, text: show(words), words, assignments, comment };
  };
  const commands = segments.map(command);
  const alternative = /^or:\s*(-.*)$/.exec(comment);
  if (alternative && segments.length === 1 && commands[0]) {
    const replaced = [...commands[0].words.slice(0, -1), ...tokenize(alternative[1]!).segments.flat()];
    commands.push({ ...command(replaced), comment: "" });
  }
  for (const inner of substitutions) commands.push(...readLine(inner, file, line, source));
  return commands;
}

/**
 * A shell line's words, as sh splits them: quotes, backslashes, comments, the chain operators
 * and `$(…)`. Two conventions of the README's own: `<placeholder>` is a word (it may hold spaces;
 * the READMEs never redirect), and `[--flag value]` marks an optional part, read as if given.
 */
export function tokenize(line: string): { segments: Word[][]; comment: string; substitutions: string[] } {
  const segments: Word[][] = [[]];
  const substitutions: string[] = [];
  let comment = "";
  let word: Word | undefined;
  let start = 0;
  let i = 0;
  const push = () => {
    if (word) segments.at(-1)!.push({ ...word, raw: line.slice(start, i) });
    word = undefined;
  };
  const add = (text: string, quoted = false) => {
    if (!word) start = i;
    word ??= { value: "", quoted: false, raw: "" };
    word.value += text;
    if (quoted) word.quoted = true;
  };
  /** `$(…)` starting at `from`: recorded, and its end returned. */
  const substitution = (from: number) => {
    let depth = 0;
    for (let i = from + 1; i < line.length; i++) {
      if (line[i] === "(") depth++;
      else if (line[i] === ")" && --depth === 0) {
        substitutions.push(line.slice(from + 2, i));
        return i + 1;
      }
    }
    throw new Error(`unclosed $( in: ${line}`);
  };
  while (i < line.length) {
    const c = line[i]!;
    if (c === " " || c === "\t") {
      push();
      i++;
    } else if (c === "#" && !word) {
      comment = line.slice(i + 1).trim();
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed ' in: ${line}`);
      add(line.slice(i + 1, end), true);
      i = end + 1;
    } else if (c === '"') {
      add("", true);
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && '"\\$`'.includes(line[i + 1] ?? "")) {
          add(line[i + 1]!, true);
          i += 2;
        } else if (line.startsWith("$(", i)) {
          const end = substitution(i);
          add(line.slice(i, end), true);
          i = end;
        } else add(line[i++]!, true);
      }
      if (i >= line.length) throw new Error(`unclosed " in: ${line}`);
      i++;
    } else if (c === "\\") {
      add(line[i + 1] ?? "");
      i += 2;
    } else if (line.startsWith("$(", i)) {
      const end = substitution(i);
      add(line.slice(i, end));
      i = end;
    } else if (c === "<" && line.indexOf(">", i) > i) {
      const end = line.indexOf(">", i) + 1;
      add(line.slice(i, end));
      i = end;
    } else {
      const operator = ["&&", "||", ";", "|", "&"].find((o) => line.startsWith(o, i));
      if (operator) {
        push();
        segments.push([]);
        i += operator.length;
      } else {
        add(line[i]!);
        i++;
      }
    }
  }
  push();
  for (const segment of segments) {
    let optional = false;
    for (const w of segment) {
      if (w.quoted) continue;
      if (w.value.startsWith("[-")) {
        w.value = w.value.slice(1);
        optional = true;
      }
      if (optional && w.value.endsWith("]")) {
        w.value = w.value.slice(0, -1);
        optional = false;
      }
    }
  }
  return { segments: segments.filter((s) => s.length > 0), comment, substitutions };
}

// ---------------------------------------------------------------------------------------------
// What the commands are checked against
// ---------------------------------------------------------------------------------------------

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, unknown> };
}
interface OpenApiDocument {
  servers?: { url: string }[];
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, { type: string; in?: string; name?: string }> };
}

export interface Repository {
  root: string;
  /** Workspace name → its directory, relative to the root. */
  workspaces: Map<string, string>;
  /** The HTTP APIs: each committed OpenAPI document, by the origin its `servers` names. */
  apis: { name: string; origin: string; document: OpenApiDocument }[];
  devcloud: {
    /** The origin the READMEs address devcloud by: its default port. */
    origin: string;
    /** The signing names devcloud serves (sqs, sns, s3, dynamodb, events, bedrock, ses, kms). */
    services: string[];
    /** Whether devcloud itself answers this `/_quire/…` endpoint (asked of a running one). */
    servesAdmin(method: string, path: string): Promise<boolean>;
  };
}

/**
 * The repository as the checks see it. `devcloudEndpoint` is a devcloud running for the spec: its
 * health names the services it emulates, and its `/_quire/` endpoints are asked directly.
 */
export async function loadRepository(root: string, devcloudEndpoint: string): Promise<Repository> {
  const rootPackage = readJson(join(root, "package.json")) as { workspaces: string[] };
  const workspaces = new Map<string, string>();
  for (const dir of rootPackage.workspaces.flatMap((pattern) => globSync(pattern, { cwd: root }))) {
    if (!existsSync(join(root, dir, "package.json"))) continue;
    workspaces.set((readJson(join(root, dir, "package.json")) as { name: string }).name, dir);
  }
  const apis = globSync("services/*/openapi.json", { cwd: root }).flatMap((path) => {
    const document = readJson(join(root, path)) as OpenApiDocument;
    return (document.servers ?? []).map((server) => ({
      name: path.split("/")[1]!,
      origin: new URL(server.url).origin,
      document,
    }));
  });
  const health = (await (await fetch(`${devcloudEndpoint}/_quire/health`)).json()) as {
    services: Record<string, string>;
  };
  return {
    root,
    workspaces,
    apis,
    devcloud: {
      origin: `http://127.0.0.1:${DEFAULT_DEVCLOUD_PORT}`,
      services: Object.keys(health.services),
      async servesAdmin(method, path) {
        // Unsigned, a request devcloud's own endpoints do not take falls through to the AWS routes,
        // which refuse it as AWS does; anything else is devcloud answering it (even with a 4xx).
        const response = await fetch(`${devcloudEndpoint}${path}`, {
          method,
          ...(method === "GET" ? {} : { body: "" }),
        });
        const body = await response.text();
        return !(response.status === 403 && body.includes("MissingAuthenticationToken"));
      },
    },
  };
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));
const isPlaceholder = (value: string) => value.includes("…") || /<[^>]*>/.test(value);

// ---------------------------------------------------------------------------------------------
// The checks, by the command's head
// ---------------------------------------------------------------------------------------------

type Check = (args: Word[], context: CheckContext) => Promise<string[]> | string[];
interface CheckContext {
  repository: Repository;
  /** Where the command runs, relative to the root: "" for the READMEs, a workspace for its scripts. */
  cwd: string;
  comment: string;
  depth: number;
}

/** The problems with one README command; empty when it checks out. */
export async function checkCommand(command: ReadmeCommand, repository: Repository): Promise<string[]> {
  return checkWords(command.words, { repository, cwd: "", comment: command.comment, depth: 0 });
}

/** A whole (fake or real) README: every command's problems, each prefixed with where it is. */
export async function checkReadme(markdown: string, file: string, repository: Repository): Promise<string[]> {
  const problems: string[] = [];
  for (const command of extractCommands(markdown, file))
    for (const problem of await checkCommand(command, repository))
      problems.push(`${file}:${command.line}: \`${command.text}\`: ${problem}`);
  return problems;
}

async function checkWords(words: Word[], context: CheckContext): Promise<string[]> {
  const [head, ...args] = words;
  if (!head) return [];
  if (context.depth > 5) return [`scripts call each other too deep to follow (${show(words)})`];
  const check = CHECKS[head.value];
  if (check) return check(args, context);
  if (head.value in ALLOWED_HEADS) return [];
  return [
    `the README uses \`${head.value}\`, which no spec checks: add a check or allow it here (CHECKS or ALLOWED_HEADS in tests/e2e/test/support/readme-commands.ts)`,
  ];
}

/**
 * Heads that are not Quire's commands and are allowed as they are: their arguments are the
 * reader's business (a file to `cat`, a key to generate), not something this repository defines.
 */
export const ALLOWED_HEADS: Record<string, string> = {
  node: "Node itself (the repository pins 24)",
  cd: "changing directory",
  git: "git (git clone …)",
  openssl: "generating a secret (openssl rand -hex 24)",
  cat: "reading a file (the local API key)",
};

const CHECKS: Record<string, Check> = {
  npm: (args, context) => checkNpm(args, context),
  npx: (args, context) => checkNpx(args, context),
  quire: (args, context) => checkQuire(args, context),
  sst: (args, context) => checkSst(args, context),
  turbo: (args, context) => checkTurbo(args, context),
  curl: (args, context) => checkCurl(args, context),
  aws: (args, context) => checkAws(args, context),
  export: (args, context) => checkExport(args, context),
  pipx: (args, context) => checkPipx(args, context),
};

// npm ------------------------------------------------------------------------------------------

/** `npm install` / `npm start` / `npm test` / `npm run <script> [-w <workspace>] [-- args…]`. */
async function checkNpm(args: Word[], context: CheckContext): Promise<string[]> {
  const [verb, ...rest] = args.map((w) => w.value);
  if (verb === "install" || verb === "ci")
    return rest.length ? [`npm ${verb} takes no arguments here (got ${rest.join(" ")})`] : [];
  if (verb !== "start" && verb !== "test" && verb !== "run")
    return [`npm ${verb ?? ""}: only install, ci, start, test and run are checked`];
  let script = verb === "run" ? undefined : verb;
  let workspace: string | undefined;
  const passed: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (word === "--") {
      passed.push(...rest.slice(i + 1));
      break;
    }
    if (word === "-w" || word === "--workspace") workspace = rest[++i];
    else if (word.startsWith("--workspace=")) workspace = word.slice("--workspace=".length);
    else if (word.startsWith("-")) return [`npm flag ${word} is not one the checks know (-w, --workspace)`];
    else if (!script) script = word;
    else return [`npm run ${script}: ${word} would be npm's, not the script's (arguments go after --)`];
  }
  if (!script) return ["npm run without a script"];
  let dir = context.cwd;
  if (workspace !== undefined) {
    // By name (@quire/cli) or by directory (packages/cli).
    const { workspaces, root } = context.repository;
    const byPath = relative(root, resolve(root, context.cwd, workspace));
    const found = workspaces.get(workspace) ?? [...workspaces.values()].find((d) => d === byPath);
    if (found === undefined)
      return [`no workspace ${workspace} (there are ${[...context.repository.workspaces.keys()].join(", ")})`];
    dir = found;
  }
  return checkScript(dir, script, passed, context);
}

/**
 * A package's script, run with `args`: it must exist, and what it runs must take the arguments.
 * The script's last command gets them (npm appends them to the script): `node <program>` is
 * checked with PROGRAM_ARGUMENTS, `npm run …` and `sst …` with their own checks.
 */
async function checkScript(dir: string, script: string, args: string[], context: CheckContext): Promise<string[]> {
  const where = dir === "" ? "the root package.json" : `${dir}/package.json`;
  const scripts =
    (readJson(join(context.repository.root, dir, "package.json")) as { scripts?: Record<string, string> }).scripts ??
    {};
  const command = scripts[script];
  if (command === undefined) return [`no script \`${script}\` in ${where} (it has ${Object.keys(scripts).join(", ")})`];
  // npm appends the arguments to the script: its last command gets them (past its own assignments).
  const words = tokenize(command).segments.at(-1) ?? [];
  while (words.length > 1 && ASSIGNMENT.test(words[0]!.raw)) words.shift();
  const [head, ...own] = words.map((w) => w.value);
  const inner = { ...context, cwd: dir, depth: context.depth + 1 };
  if (head === "npm" || head === "sst") return checkWords([...words, ...args.map(literal)], inner);
  if (head === "node" && own[0] && !own[0].startsWith("-")) {
    const program = relative(context.repository.root, resolve(context.repository.root, dir, own[0]));
    if (!existsSync(join(context.repository.root, program)))
      return [`${where}'s \`${script}\` runs ${program}, which does not exist`];
    if (args.length === 0) return [];
    const parse = PROGRAM_ARGUMENTS[program];
    if (!parse)
      return [`\`${script}\` passes arguments to ${program}, which no spec checks: add it to PROGRAM_ARGUMENTS`];
    return parse([...own.slice(1), ...args]).map((problem) => `${program}: ${problem}`);
  }
  if (args.length) return [`\`${script}\` (${command}) is given arguments, which no spec checks`];
  return [];
}

const literal = (value: string): Word => ({ value, quoted: false, raw: value });

/** Each program `npm run … -- args` reaches, by its path: what it parses its arguments with. */
export const PROGRAM_ARGUMENTS: Record<string, (args: string[]) => string[]> = {
  "packages/devcloud/src/main.ts": parsesWith(DEVCLOUD_OPTIONS),
  "bench/src/main.ts": parsesWith(BENCH_OPTIONS),
  "chaos/src/main.ts": (args) => {
    const problems = parsesWith(CHAOS_OPTIONS)(args);
    if (problems.length) return problems;
    const { values } = parseArgs({ args, options: CHAOS_OPTIONS, strict: true });
    return (values.scenario ?? [])
      .flatMap((s) => s.split(","))
      .filter((name) => name && !scenarioNames.includes(name))
      .map((name) => `no scenario ${name} (there are ${scenarioNames.join(", ")})`);
  },
  // `npm run service -- <service> [node flags]`: a topology service, then flags for node (as
  // NODE_OPTIONS would take them: process.allowedNodeEnvironmentFlags).
  "scripts/service.ts": ([service, ...flags]) => {
    const services = Object.keys(topology.services);
    if (!service || !services.includes(service))
      return [`${service ?? "(nothing)"} is not a service (the topology has ${services.join(", ")})`];
    return flags
      .filter((flag) => !process.allowedNodeEnvironmentFlags.has(flag.split("=")[0]!))
      .map((flag) => `${flag} is not a node flag`);
  },
};

/** The options object each of those programs passes to parseArgs (the spec reads that it does). */
export const PROGRAM_OPTION_NAMES: Record<string, string> = {
  "packages/devcloud/src/main.ts": "DEVCLOUD_OPTIONS",
  "bench/src/main.ts": "BENCH_OPTIONS",
  "chaos/src/main.ts": "CHAOS_OPTIONS",
};

/** The program's own parser, run on the arguments: node's parseArgs with the options it exports. */
function parsesWith(options: ParseArgsOptionsConfig) {
  return (args: string[]): string[] => {
    try {
      parseArgs({ args, options, strict: true, allowPositionals: false });
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  };
}

// npx / pipx -------------------------------------------------------------------------------------

/**
 * Third-party generators the README runs against Quire's APIs: their flags are theirs, but every
 * local URL they are given must be a documented GET, and every path into the repository must exist.
 */
export const EXTERNAL_TOOLS = ["@openapitools/openapi-generator-cli", "openapi-typescript", "openapi-python-client"];

async function checkNpx(args: Word[], context: CheckContext): Promise<string[]> {
  const [tool, ...rest] = args;
  if (!tool) return ["npx without a command"];
  if (tool.value === "quire" || tool.value === "sst" || tool.value === "turbo") return checkWords(args, context);
  if (EXTERNAL_TOOLS.includes(tool.value)) return checkExternalTool(rest, context);
  return [`npx ${tool.value}: no check for it (quire, sst, turbo, or EXTERNAL_TOOLS)`];
}

async function checkPipx(args: Word[], context: CheckContext): Promise<string[]> {
  const [verb, tool, ...rest] = args;
  if (verb?.value !== "run" || !tool || !EXTERNAL_TOOLS.includes(tool.value))
    return [`pipx ${show(args)}: only \`pipx run\` of EXTERNAL_TOOLS is checked`];
  return checkExternalTool(rest, context);
}

async function checkExternalTool(args: Word[], context: CheckContext): Promise<string[]> {
  const problems: string[] = [];
  for (const { value } of args) {
    if (/^https?:\/\//.test(value)) problems.push(...(await checkLocalRequest("GET", value, context)).problems);
    else problems.push(...checkRepositoryPath(value, context));
  }
  return problems;
}

/** A relative path under one of the repository's own top-level directories must exist (globs: match something). */
function checkRepositoryPath(value: string, context: CheckContext): string[] {
  if (value.startsWith("-") || !value.includes("/") || isPlaceholder(value) || value.startsWith("/")) return [];
  const root = context.repository.root;
  const top = value.split("/")[0]!;
  if (top === "." || top === ".." || !existsSync(join(root, context.cwd, top))) return [];
  if (globSync(value, { cwd: join(root, context.cwd) }).length === 0)
    return [`${value} does not exist in the repository`];
  return [];
}

// quire ------------------------------------------------------------------------------------------

/**
 * The real `quire` program (buildProgram) parses the arguments, its actions replaced by a no-op:
 * commander itself says whether the subcommand exists, each option is one it or the root
 * declares, the option values pass their parsers (event and scope lists, numbers), required
 * options are there and the positional arguments fit. `files` arguments must name files.
 */
async function checkQuire(args: Word[], context: CheckContext): Promise<string[]> {
  const values = args.map((w) => w.value);
  const errors: string[] = [];
  const program = buildProgram({
    out: () => {},
    err: (line) => errors.push(line),
    env: {},
    cwd: context.repository.root,
  });
  type Command = typeof program;
  let reached: { command: Command; positional: unknown[] } | undefined;
  const stub = (command: Command) => {
    if (command.commands.length > 0) for (const sub of command.commands) stub(sub);
    else
      command.action((...received: unknown[]) => {
        reached = { command, positional: received.slice(0, -2) };
      });
  };
  for (const command of program.commands) stub(command);
  try {
    await program.parseAsync(values, { from: "user" });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code === "commander.helpDisplayed" || code === "commander.version") return [];
    if (code === "commander.help" && values.length === 0) return []; // bare `quire`: its usage
    return [
      `quire rejects it: ${
        errors
          .join(" ")
          .replace(/^error: /, "")
          .replaceAll("\n", " ") || (error as Error).message
      }`,
    ];
  }
  if (!reached) return ["quire ran no command"];
  const problems: string[] = [];
  reached.command.registeredArguments.forEach((argument, index) => {
    if (!/^files?$/.test(argument.name())) return;
    const given = [reached!.positional[index]].flat().filter((v): v is string => typeof v === "string");
    for (const file of given) {
      if (isPlaceholder(file)) continue;
      if (globSync(file, { cwd: join(context.repository.root, context.cwd) }).length === 0)
        problems.push(`${file} matches no file in the repository`);
    }
  });
  return problems;
}

// sst --------------------------------------------------------------------------------------------

type FlagKind = "value" | "flag";
/** SST's global flags (any command). */
export const SST_GLOBAL_FLAGS: Record<string, FlagKind> = {
  stage: "value",
  config: "value",
  verbose: "flag",
  "print-logs": "flag",
  help: "flag",
};
/**
 * The SST CLI commands the README may use, with their own flags and how many positional
 * arguments they take ([min, max]). Modest: what this repository's docs need.
 */
export const SST_COMMANDS: Record<string, { flags: Record<string, FlagKind>; positionals: [number, number] }> = {
  deploy: { flags: { target: "value", exclude: "value", continue: "flag", dev: "flag" }, positionals: [0, 0] },
  dev: { flags: { mode: "value" }, positionals: [0, Number.POSITIVE_INFINITY] },
  diff: { flags: { target: "value", dev: "flag" }, positionals: [0, 0] },
  remove: { flags: { target: "value" }, positionals: [0, 0] },
  refresh: { flags: { target: "value" }, positionals: [0, 0] },
  unlock: { flags: {}, positionals: [0, 0] },
  install: { flags: {}, positionals: [0, 0] },
  "secret set": { flags: { fallback: "flag" }, positionals: [1, 2] },
  "secret list": { flags: { fallback: "flag" }, positionals: [0, 0] },
  "secret remove": { flags: { fallback: "flag" }, positionals: [1, 1] },
};
/** The secrets the app declares (infra: `new sst.Secret(SST_API_KEY_LINK)`). */
export const SST_SECRETS = [SST_API_KEY_LINK];
/** The components `--target` may name: one per topology service (infra's serviceComponentName). */
export const sstTargets = () => Object.keys(topology.services).map((service) => componentName(service, "Service"));

function checkSst(args: Word[], context: CheckContext): string[] {
  const values = args.map((w) => w.value);
  const name = values[0] === "secret" ? `secret ${values[1] ?? ""}` : (values[0] ?? "");
  const command = SST_COMMANDS[name];
  if (!command)
    return [`sst ${name}: not one of the SST commands the README may use (${Object.keys(SST_COMMANDS).join(", ")})`];
  const problems: string[] = [];
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = name.split(" ").length; i < values.length; i++) {
    const word = values[i]!;
    if (!word.startsWith("--")) {
      positionals.push(word);
      continue;
    }
    const [flag, inline] = word.slice(2).split(/=(.*)/s) as [string, string | undefined];
    const kind = command.flags[flag] ?? SST_GLOBAL_FLAGS[flag];
    if (!kind) {
      problems.push(`sst ${name} has no --${flag}`);
      continue;
    }
    const value = kind === "flag" ? true : (inline ?? values[++i]);
    if (value === undefined) problems.push(`--${flag} needs a value`);
    else flags.set(flag, value);
  }
  const [min, max] = command.positionals;
  if (positionals.length < min || positionals.length > max)
    problems.push(`sst ${name} takes ${min === max ? min : `${min} to ${max}`} arguments, not ${positionals.length}`);
  for (const flag of ["target", "exclude"]) {
    const target = flags.get(flag);
    if (typeof target === "string" && !isPlaceholder(target) && !sstTargets().includes(target))
      problems.push(`--${flag} ${target} is not a component of the app (${sstTargets().join(", ")})`);
  }
  const config = flags.get("config");
  if (
    typeof config === "string" &&
    resolve(context.repository.root, context.cwd, config) !== join(context.repository.root, "sst.config.ts")
  )
    problems.push(`--config ${config} is not the app's sst.config.ts at the root`);
  if (name.startsWith("secret ") && name !== "secret list" && positionals[0] && !SST_SECRETS.includes(positionals[0]))
    problems.push(`${positionals[0]} is not a secret the app declares (${SST_SECRETS.join(", ")})`);
  // The README says which commands are per stage ("# once per stage"): those name it.
  if (/\bper[- ]stage\b/i.test(context.comment) && !flags.has("stage"))
    problems.push("the README says this is per stage, but it names no --stage");
  return problems;
}

// turbo ------------------------------------------------------------------------------------------

/** `turbo run` flags the README may use. */
export const TURBO_RUN_FLAGS: Record<string, FlagKind | "optional"> = {
  filter: "value",
  dry: "optional",
  "dry-run": "optional",
  concurrency: "value",
  force: "flag",
  continue: "flag",
  "output-logs": "value",
  summarize: "flag",
};

/** `turbo run <task> --filter=<workspace> [-- args]`: a task turbo.json declares, a workspace with that script. */
async function checkTurbo(args: Word[], context: CheckContext): Promise<string[]> {
  const values = args.map((w) => w.value);
  if (values[0] !== "run") return [`turbo ${values[0] ?? ""}: only \`turbo run\` is checked`];
  const declared = Object.keys(
    (readJson(join(context.repository.root, "turbo.json")) as { tasks: Record<string, unknown> }).tasks,
  ).filter((task) => !task.includes("#"));
  const tasks: string[] = [];
  const filters: string[] = [];
  let passed: string[] = [];
  const problems: string[] = [];
  for (let i = 1; i < values.length; i++) {
    const word = values[i]!;
    if (word === "--") {
      passed = values.slice(i + 1);
      break;
    }
    if (!word.startsWith("-")) {
      tasks.push(word);
      continue;
    }
    const [flag, inline] = word.replace(/^--?/, "").split(/=(.*)/s) as [string, string | undefined];
    const kind = flag === "F" ? "value" : TURBO_RUN_FLAGS[flag];
    if (!kind) {
      problems.push(`turbo run has no --${flag} the checks know (${Object.keys(TURBO_RUN_FLAGS).join(", ")})`);
      continue;
    }
    const value = kind === "value" && inline === undefined ? values[++i] : inline;
    if (flag === "filter" || flag === "F") filters.push(value ?? "");
  }
  for (const task of tasks)
    if (!declared.includes(task)) problems.push(`turbo.json declares no task ${task} (${declared.join(", ")})`);
  if (problems.length) return problems;
  for (const filter of filters) {
    const dir = context.repository.workspaces.get(filter);
    if (dir === undefined) {
      problems.push(`--filter=${filter} names no workspace (globs and paths are not checked)`);
      continue;
    }
    for (const task of tasks) problems.push(...(await checkScript(dir, task, passed, context)));
  }
  if (filters.length === 0 && passed.length) problems.push("arguments after -- without a --filter are not checked");
  return problems;
}

// curl -------------------------------------------------------------------------------------------

export const CURL_FLAGS: Record<string, FlagKind> = {
  "-s": "flag",
  "--silent": "flag",
  "-S": "flag",
  "--show-error": "flag",
  "-f": "flag",
  "--fail": "flag",
  "-i": "flag",
  "--include": "flag",
  "-v": "flag",
  "-X": "value",
  "--request": "value",
  "-H": "value",
  "--header": "value",
  "-d": "value",
  "--data": "value",
  "--data-binary": "value",
  "--data-raw": "value",
};
/** Request headers the README may send. */
export const CURL_HEADERS = ["x-api-key", "content-type", "accept"];

/**
 * `curl`: the method and path (host and query stripped) must be an operation of the API the port
 * names (its OpenAPI document's `servers`), or one of devcloud's own `/_quire/` endpoints that a
 * running devcloud answers; query parameters declared; a key sent where the operation needs one,
 * and a JSON content type with a JSON body; a `@file` in the repository must exist.
 */
async function checkCurl(args: Word[], context: CheckContext): Promise<string[]> {
  const values = args.map((w) => w.value);
  const problems: string[] = [];
  let method: string | undefined;
  const headers = new Map<string, string>();
  const data: string[] = [];
  const urls: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const word = values[i]!;
    if (!word.startsWith("-")) {
      urls.push(word);
      continue;
    }
    const kind = CURL_FLAGS[word];
    if (!kind) {
      problems.push(`curl ${word} is not a flag the checks know (${Object.keys(CURL_FLAGS).join(" ")})`);
      continue;
    }
    if (kind === "flag") continue;
    const value = values[++i] ?? "";
    if (word === "-X" || word === "--request") method = value.toUpperCase();
    else if (word === "-H" || word === "--header") {
      const [name, ...rest] = value.split(":");
      headers.set(name!.trim().toLowerCase(), rest.join(":").trim());
    } else data.push(value);
  }
  for (const name of headers.keys())
    if (!CURL_HEADERS.includes(name))
      problems.push(`header ${name} is not one the checks know (${CURL_HEADERS.join(", ")})`);
  for (const body of data) if (body.startsWith("@")) problems.push(...checkRepositoryPath(body.slice(1), context));
  if (urls.length !== 1) return [...problems, `curl needs exactly one URL (got ${urls.length})`];
  const request = await checkLocalRequest(method ?? (data.length ? "POST" : "GET"), urls[0]!, context);
  problems.push(...request.problems);
  const { api, operation } = request;
  if (api && operation) {
    const requirements = operation.security ?? api.document.security ?? [];
    const schemes = api.document.components?.securitySchemes ?? {};
    for (const requirement of requirements.filter((r) => Object.keys(r).length > 0)) {
      const headerNames = Object.keys(requirement).map((scheme) => schemes[scheme]?.name?.toLowerCase());
      const missing = headerNames.filter((name) => name && !headers.has(name));
      if (missing.length) problems.push(`the operation needs ${missing.join(", ")}, which the command does not send`);
    }
    const contentTypes = Object.keys(operation.requestBody?.content ?? {});
    if (
      data.length &&
      contentTypes.includes("application/json") &&
      !headers.get("content-type")?.startsWith("application/json")
    )
      problems.push("it sends a JSON body without content-type: application/json (curl's default is a form)");
  }
  return problems;
}

/**
 * A request to this machine: devcloud's `/_quire/` endpoints by asking it, an API's operations
 * by its OpenAPI document. Returns the operation, for the caller's further checks.
 */
async function checkLocalRequest(
  method: string,
  address: string,
  context: CheckContext,
): Promise<{ problems: string[]; api?: Repository["apis"][number]; operation?: OpenApiOperation }> {
  if (isPlaceholder(address)) return { problems: [] };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return { problems: [`${address} is not a URL`] };
  }
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return { problems: [] }; // not Quire's local services
  const origin = `${url.protocol}//127.0.0.1:${url.port}`;
  const { repository } = context;
  if (origin === repository.devcloud.origin) {
    if (!url.pathname.startsWith("/_quire/"))
      return {
        problems: [`devcloud answers plain HTTP only under /_quire/ (AWS requests are signed), not ${url.pathname}`],
      };
    return (await repository.devcloud.servesAdmin(method, url.pathname))
      ? { problems: [] }
      : { problems: [`devcloud does not serve ${method} ${url.pathname}`] };
  }
  const api = repository.apis.find((a) => a.origin === origin);
  if (!api) {
    const known = [...repository.apis.map((a) => `${a.name} ${a.origin}`), `devcloud ${repository.devcloud.origin}`];
    return { problems: [`nothing of Quire's listens at ${origin} (${known.join(", ")})`] };
  }
  // Literal paths before templated ones, so /docs is never read as /docs/{asset}.
  const template = Object.keys(api.document.paths)
    .sort((a, b) => Number(a.includes("{")) - Number(b.includes("{")))
    .find((t) => new RegExp(`^${t.replaceAll(".", "\\.").replaceAll(/\{[^}]+\}/g, "[^/]+")}$`).test(url.pathname));
  if (!template)
    return { problems: [`the ${api.name} API has no path ${url.pathname} (services/${api.name}/openapi.json)`] };
  const operation = api.document.paths[template]![method.toLowerCase()];
  if (!operation)
    return {
      problems: [
        `the ${api.name} API has no ${method} ${template} (only ${Object.keys(api.document.paths[template]!)
          .map((m) => m.toUpperCase())
          .join(", ")})`,
      ],
    };
  const declared = (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
  const problems = [...url.searchParams.keys()]
    .filter((name) => !declared.includes(name))
    .map((name) => `${method} ${template} has no query parameter ${name}`);
  return { problems, api, operation };
}

// aws --------------------------------------------------------------------------------------------

/** AWS CLI service commands → the SigV4 signing name devcloud routes by. */
export const AWS_CLI_SERVICES: Record<string, string> = {
  sqs: "sqs",
  sns: "sns",
  s3: "s3",
  s3api: "s3",
  dynamodb: "dynamodb",
  events: "events",
  "bedrock-runtime": "bedrock",
  sesv2: "ses",
  kms: "kms",
};
const AWS_GLOBAL_VALUES = ["--endpoint-url", "--region", "--profile", "--output", "--query"];

/**
 * `aws`: not run (the AWS CLI is not installed on a fresh machine). The service must be one
 * devcloud emulates, `--endpoint-url` must be devcloud at its default port, and a quoted JSON
 * argument must be JSON.
 */
function checkAws(args: Word[], context: CheckContext): string[] {
  const problems: string[] = [];
  const positionals: string[] = [];
  let endpoint: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const { value, quoted } = args[i]!;
    if (value.startsWith("--")) {
      const next = args[i + 1];
      if (AWS_GLOBAL_VALUES.includes(value) || (next && !next.value.startsWith("--"))) {
        if (value === "--endpoint-url") endpoint = next?.value;
        i++;
        if (next?.quoted && /^[[{]/.test(next.value)) problems.push(...jsonProblem(value, next.value));
      }
      continue;
    }
    if (quoted && /^[[{]/.test(value)) problems.push(...jsonProblem("an argument", value));
    positionals.push(value);
  }
  const [service, operation] = positionals;
  const signingName = service ? AWS_CLI_SERVICES[service] : undefined;
  if (!signingName || !context.repository.devcloud.services.includes(signingName))
    problems.push(
      `aws ${service ?? ""}: not a service devcloud emulates (${Object.keys(AWS_CLI_SERVICES).join(", ")})`,
    );
  if (!operation || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(operation))
    problems.push(`aws ${service ?? ""} without an operation`);
  if (endpoint === undefined)
    problems.push(`no --endpoint-url: it would call AWS, not devcloud (${context.repository.devcloud.origin})`);
  else if (!isDevcloudEndpoint(endpoint, context))
    problems.push(`--endpoint-url ${endpoint} is not devcloud (${context.repository.devcloud.origin})`);
  return problems;
}

const isDevcloudEndpoint = (value: string, context: CheckContext) => {
  try {
    const url = new URL(value);
    return (
      ["127.0.0.1", "localhost"].includes(url.hostname) &&
      `${url.protocol}//127.0.0.1:${url.port}` === context.repository.devcloud.origin &&
      url.pathname === "/"
    );
  } catch {
    return false;
  }
};

function jsonProblem(what: string, value: string): string[] {
  try {
    JSON.parse(value);
    return [];
  } catch (error) {
    return [`${what} is not JSON: ${(error as Error).message}`];
  }
}

// export -----------------------------------------------------------------------------------------

/** `export NAME=value …`: assignments only, and an AWS endpoint variable must point at devcloud. */
function checkExport(args: Word[], context: CheckContext): string[] {
  return args.flatMap(({ value }) => {
    if (!ASSIGNMENT.test(value)) return [`export ${value}: not NAME=value`];
    const [name, setting] = value.split(/=(.*)/s) as [string, string];
    if (/^AWS_ENDPOINT_URL(_|$)/.test(name) && !isDevcloudEndpoint(setting, context))
      return [`${name}=${setting} is not devcloud (${context.repository.devcloud.origin})`];
    return [];
  });
}

export const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url));
