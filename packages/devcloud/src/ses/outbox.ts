import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderEml, type OutboundEmail } from "./eml.ts";

export interface OutboxEntry extends OutboundEmail {
  /** Path of the .eml file, when the outbox lives on disk. */
  file: string | undefined;
}

/**
 * Where devcloud's SES puts mail instead of sending it: `<dir>/<id>.eml` beside `<id>.json`
 * (the parsed fields, so listing needs no MIME parser). In memory when there is no directory.
 */
export class Outbox {
  private readonly entries: OutboxEntry[] = [];
  private readonly dir: string | undefined;

  constructor(dir: string | undefined) {
    this.dir = dir;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith(".json"))
      .sort()) {
      const email = JSON.parse(readFileSync(join(dir, name), "utf8")) as OutboundEmail;
      this.entries.push({ ...email, file: join(dir, name.replace(/\.json$/, ".eml")) });
    }
    this.entries.sort((a, b) => a.date.localeCompare(b.date));
  }

  add(email: OutboundEmail): OutboxEntry {
    let file: string | undefined;
    if (this.dir) {
      // Date-first names list in sending order in a file browser.
      const stem = `${email.date.replace(/[:.]/g, "-")}-${email.id}`;
      file = join(this.dir, `${stem}.eml`);
      writeFileSync(file, renderEml(email));
      writeFileSync(join(this.dir, `${stem}.json`), JSON.stringify(email, null, 2));
    }
    const entry = { ...email, file };
    this.entries.push(entry);
    return entry;
  }

  list(filter: { to?: string } = {}): OutboxEntry[] {
    return this.entries.filter(
      (e) => !filter.to || e.to.includes(filter.to) || e.cc.includes(filter.to) || e.bcc.includes(filter.to),
    );
  }

  get(id: string): OutboxEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  clear(): void {
    this.entries.length = 0;
  }
}
