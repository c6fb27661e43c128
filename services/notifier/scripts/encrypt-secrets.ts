// Seals every webhook signing secret still stored in plain text (subscriptions created before
// secrets were encrypted at rest), without rotating it: receivers notice nothing. Safe to run
// again; a rotation seals a subscription's secrets too. Needs the AWS environment (or devcloud's:
// `npm run devcloud` prints it) and two variables: QUIRE_TABLE_NOTIFICATIONS_NAME and
// QUIRE_KEY_SECRETS_ID (the key's alias, alias/quire-<stage>-secrets when deployed); the caller
// needs dynamodb:Query and dynamodb:UpdateItem on the table and kms:Encrypt on the key.
import { createNotificationStore, kmsSecretBox } from "@quire/notifications";
import { createAwsClients } from "@quire/pipeline";

const tableName = process.env.QUIRE_TABLE_NOTIFICATIONS_NAME;
const keyId = process.env.QUIRE_KEY_SECRETS_ID;
if (!tableName || !keyId) {
  console.error("encrypt-secrets: set QUIRE_TABLE_NOTIFICATIONS_NAME and QUIRE_KEY_SECRETS_ID.");
  process.exit(2);
}
const clients = createAwsClients();
const store = createNotificationStore({
  client: clients.dynamodb,
  tableName,
  secrets: kmsSecretBox({ kms: clients.kms, keyId }),
});
const { sealed, skipped } = await store.encryptPlaintextSecrets();
console.log(
  `encrypt-secrets: sealed the secrets of ${sealed} subscription(s)${skipped ? `; ${skipped} changed meanwhile (run again)` : ""}.`,
);
