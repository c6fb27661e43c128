import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { DocumentInput } from "./client.ts";

/**
 * Files to documents: a `.json` file holds a document `{ text, title?, metadata? }` or an array of
 * them (the shape the API takes, as in samples/); any other file is its text, titled by its name.
 */
export async function readDocuments(files: readonly string[]): Promise<DocumentInput[]> {
  const documents: DocumentInput[] = [];
  for (const file of files) {
    const content = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
    });
    if (!file.endsWith(".json")) {
      documents.push({ text: content, title: basename(file) });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch (error) {
      throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    for (const [i, item] of (Array.isArray(parsed) ? parsed : [parsed]).entries()) {
      if (typeof item !== "object" || item === null || typeof (item as { text?: unknown }).text !== "string") {
        throw new Error(
          `${file}${Array.isArray(parsed) ? `[${i}]` : ""} needs a "text" string (a document is { text, title?, metadata? })`,
        );
      }
      documents.push(item as DocumentInput);
    }
  }
  return documents;
}
