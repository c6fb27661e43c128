import { AsyncLocalStorage } from "node:async_hooks";
import { type AddressInfo, Server } from "node:net";
import { join } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { startFauxqs, type FauxqsServer } from "fauxqs";

/**
 * SNS, SQS and S3 come from fauxqs; devcloud only chooses where its state lives, and patches
 * one persistence bug (below). fauxqs has no authentication and would listen on every
 * interface (below), so it is made to listen on loopback, where only the edge reaches it. With
 * a data dir, queues, topics, messages (SQLite) and S3 objects (plain files) survive restarts.
 */
export async function startSnsSqsS3(options: { dataDir: string | undefined; region: string }): Promise<FauxqsServer> {
  if (options.dataDir) await patchReleasePersistence();
  const listening: Server[] = [];
  const fauxqs = await onLoopback(listening, () =>
    startFauxqs({
      port: 0,
      // QueueUrls come out as http://sqs.<region>.localhost:<edge port>/000000000000/<name>: the
      // AWS shape, carrying the region and the edge's port (taken from the Host header). SDK
      // clients send them to their configured endpoint, so the host part is never resolved.
      logger: false,
      defaultRegion: options.region,
      // The spy reports each dead-lettering (source queue, MessageId), which is how DLQ redrive
      // knows where to send a message back (src/sqs-move-tasks/origins.ts). It buffers nothing.
      messageSpies: { bufferSize: 0 },
      ...(options.dataDir
        ? { dataDir: join(options.dataDir, "sns-sqs"), s3StorageDir: join(options.dataDir, "s3") }
        : {}),
    }),
  );
  // Every server fauxqs started must be on loopback. (Its own `address` cannot tell: Fastify
  // reports 127.0.0.1 for a server on 0.0.0.0 too.) None seen, or one elsewhere, means the
  // rewrite below no longer applies to this fauxqs or Fastify, and devcloud must not run so.
  const addresses = listening.map((server) => (server.address() as AddressInfo | null)?.address);
  if (addresses.length === 0 || addresses.some((address) => address !== LOOPBACK)) {
    await fauxqs.stop().catch(() => {});
    throw new Error(
      `devcloud: fauxqs listened on ${addresses.join(", ") || "an address devcloud did not see"}, not on ${LOOPBACK} only; check onLoopback in src/emulators/fauxqs.ts against this fauxqs version.`,
    );
  }
  return fauxqs;
}

const LOOPBACK = "127.0.0.1";
/** Within startSnsSqsS3: where the servers that listened are collected. */
const loopbackListen = new AsyncLocalStorage<Server[]>();
let listenPatched = false;

/**
 * fauxqs 2.4.1 listens with `app.listen({ port, host: "0.0.0.0" })`, whatever `startFauxqs` is
 * given (its `host` option only names the host in QueueUrls), so SQS, SNS and S3 would answer
 * anyone on the network, without credentials. `startFauxqs` is run here inside an async context
 * in which `net.Server#listen` turns a wildcard host (0.0.0.0, ::, none) into 127.0.0.1 and
 * records the server; listens outside that context (the edge, dynalite, the services, other
 * devclouds starting at the same time) are untouched. startSnsSqsS3 then checks where the
 * recorded servers listen.
 */
function onLoopback<T>(listening: Server[], start: () => Promise<T>): Promise<T> {
  if (!listenPatched) {
    const listen = Server.prototype.listen;
    Server.prototype.listen = function (this: Server, ...args: unknown[]) {
      const servers = loopbackListen.getStore();
      const [first] = args;
      if (servers) {
        servers.push(this);
        if (
          typeof first === "object" &&
          first !== null &&
          ["0.0.0.0", "::", undefined].includes((first as { host?: string }).host)
        ) {
          args[0] = { ...first, host: LOOPBACK };
        }
      }
      return listen.apply(this, args as Parameters<typeof listen>);
    } as typeof listen;
    listenPatched = true;
  }
  return loopbackListen.run(listening, start);
}

interface PersistenceManagerLike {
  db: DatabaseSync;
  updateMessageReady(messageId: string): void;
}

let releasePatched: Promise<void> | undefined;

/**
 * fauxqs 2.4.1 loses a message released with ChangeMessageVisibility(…, 0) (or a batch entry
 * with 0) when persistence is on. `SqsQueue.changeVisibility` first drops the message from its
 * in-flight map, then calls `PersistenceManager.updateMessageReady(id)`, which reuses the
 * in-flight UPDATE statement with every value NULL — including `approximate_receive_count`,
 * a `NOT NULL` column. SQLite refuses (`NOT NULL constraint failed:
 * sqs_messages.approximate_receive_count`), the call answers 500 before the message is put
 * back on the ready list, the SDK's retry gets `MessageNotInflight`, and the message is in
 * neither list until a restart reloads it from the untouched row.
 *
 * The fix replaces that one method: releasing a message clears only its receipt handle and
 * visibility deadline, and keeps its receive count and first-receive time, as SQS does (the
 * next receive reports ApproximateReceiveCount 2). The class is not exported by fauxqs's
 * package `exports`, so it is loaded by file URL next to the package entry; the same module
 * instance is what `startFauxqs` uses. If a later fauxqs moves or renames it, startup fails
 * loudly here rather than losing messages quietly.
 */
function patchReleasePersistence(): Promise<void> {
  releasePatched ??= (async () => {
    const url = new URL("./persistence.js", import.meta.resolve("fauxqs"));
    const { PersistenceManager } = (await import(url.href)) as {
      PersistenceManager?: { prototype: PersistenceManagerLike };
    };
    if (typeof PersistenceManager?.prototype.updateMessageReady !== "function") {
      throw new Error(
        `devcloud: fauxqs's PersistenceManager.updateMessageReady is not where devcloud patches it (${url.href}); check the release fix in src/emulators/fauxqs.ts against this fauxqs version.`,
      );
    }
    const statements = new WeakMap<PersistenceManagerLike, StatementSync>();
    PersistenceManager.prototype.updateMessageReady = function (this: PersistenceManagerLike, messageId: string) {
      let release = statements.get(this);
      if (!release) {
        release = this.db.prepare(
          "UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?",
        );
        statements.set(this, release);
      }
      release.run(messageId);
    };
  })();
  return releasePatched;
}
