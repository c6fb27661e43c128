import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * devcloud's own state (EventBridge buses and rules, KMS keys) as one JSON file per emulator in
 * the data dir. Written whole to a temporary file and renamed over the old one, so a crash leaves
 * either the old state or the new, never half of one.
 */
export function writeStateFile(file: string, snapshot: unknown, options: { mode?: number } = {}) {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(snapshot, null, 2), options.mode ? { mode: options.mode } : {});
  renameSync(temporary, file);
}

/** The state in `file`, or undefined when there is none yet; unreadable state fails loudly, naming `what`. */
export function readStateFile<T>(file: string, what: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`devcloud: cannot read ${what} state ${file}: ${(error as Error).message}`);
  }
}
