import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDocuments } from "../src/index.ts";
import { tmp } from "./fake-api.ts";

describe("readDocuments", () => {
  it("a .json file is a document or an array of them; any other file is its text, titled by its name", async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, "one.json"),
      JSON.stringify({ text: "A lease.", title: "Lease", metadata: { client: "acme" } }),
    );
    writeFileSync(join(dir, "many.json"), JSON.stringify([{ text: "A." }, { text: "B." }]));
    writeFileSync(join(dir, "letter.txt"), "Dear Ada,");
    expect(await readDocuments([join(dir, "one.json"), join(dir, "many.json"), join(dir, "letter.txt")])).toEqual([
      { text: "A lease.", title: "Lease", metadata: { client: "acme" } },
      { text: "A." },
      { text: "B." },
      { text: "Dear Ada,", title: "letter.txt" },
    ]);
  });

  it("names the file and the item when a document has no text", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "bad.json"), JSON.stringify([{ text: "ok" }, { body: "no text" }]));
    await expect(readDocuments([join(dir, "bad.json")])).rejects.toThrow(`bad.json[1] needs a "text" string`);
  });

  it("names the file that is missing or not JSON", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "broken.json"), "{ nope");
    await expect(readDocuments([join(dir, "missing.txt")])).rejects.toThrow("cannot read");
    await expect(readDocuments([join(dir, "missing.txt")])).rejects.toThrow("no such file");
    await expect(readDocuments([join(dir, "broken.json")])).rejects.toThrow("broken.json is not valid JSON");
  });
});
