import { CommanderError } from "commander";
import { QuireApiError } from "./client.ts";
import { buildProgram } from "./program.ts";

const program = buildProgram({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  // cli-progress draws on stderr, so that is the stream that must be a terminal.
  isTTY: Boolean(process.stderr.isTTY),
  setExitCode: (code) => (process.exitCode = code),
});
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else {
    const prefix = error instanceof QuireApiError ? `${error.code}: ` : "";
    process.stderr.write(`quire: ${prefix}${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
