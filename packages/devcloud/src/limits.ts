/**
 * AWS's size and count limits that devcloud answers exactly as AWS does, so a local run fails
 * where AWS would. One place for the numbers; each cites where AWS states it. Where AWS raised
 * a limit recently, the current number is used and the old one named.
 *
 * The API-reference texts quoted are those shipped in the AWS SDK for JavaScript v3 models this
 * repo installs (@aws-sdk/client-* 3.1169), which are generated from the service models.
 */

/**
 * SNS Publish: body + message attributes (name, type and value bytes) at most 262,144 bytes;
 * over it AWS answers `InvalidParameter` ("Invalid parameter: Message too long").
 * "By default, a message can be at most 256 KiB in size (262,144 bytes, not 262,144 characters)"
 * — SNS API Reference, Publish, Message (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
 * A topic's `MaximumMessageSize` attribute (1024–1,048,576, default 262,144) can raise this on
 * AWS; neither fauxqs nor devcloud honours that attribute, so every topic has the default.
 * fauxqs already enforces this one; devcloud's edge does not repeat it.
 */
export const SNS_MAX_MESSAGE_BYTES = 262_144;

/**
 * SNS PublishBatch: the sum of all entries (each body + attributes) at most 262,144 bytes;
 * over it AWS answers `BatchRequestTooLong` for the whole request. "By default, the maximum
 * allowed individual message size and the maximum total payload size (the sum of the
 * individual lengths of all of the batched messages) are both 256 KiB (262,144 bytes)."
 * — SNS API Reference, PublishBatch (https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html).
 */
export const SNS_MAX_BATCH_BYTES = 262_144;

/**
 * SNS PublishBatch: at most 10 entries, else `TooManyEntriesInBatchRequest` — SNS API
 * Reference, PublishBatch ("If you try to send more than 10 messages in a single batch
 * request, you will receive a TooManyEntriesInBatchRequest exception"). fauxqs enforces it.
 */
export const SNS_MAX_BATCH_ENTRIES = 10;

/**
 * SQS SendMessage: body + message attributes at most 1,048,576 bytes (1 MiB); over it AWS
 * answers `InvalidParameterValue` ("One or more parameters are invalid. Reason: Message must be
 * shorter than 1048576 bytes."). AWS raised this from 256 KiB (262,144) to 1 MiB in August 2025
 * ("Amazon SQS increases maximum message payload size to 1 MiB"); the queue attribute
 * `MaximumMessageSize` now defaults to 1,048,576. "The maximum size is 1 MiB or 1,048,576
 * bytes" — SQS API Reference, SendMessage, MessageBody
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 * fauxqs 2.4.1 enforces it against each queue's MaximumMessageSize (default 1 MiB).
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * SQS SendMessageBatch: the sum of all entries at most 1,048,576 bytes, else
 * `BatchRequestTooLong` ("The length of all the messages put together is more than the
 * limit") — SQS API Reference, SendMessageBatch
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
 * fauxqs 2.4.1 enforces it.
 */
export const SQS_MAX_BATCH_BYTES = 1_048_576;

/**
 * EventBridge PutEvents: the total size of all entries in the request at most 1 MB; over it
 * AWS fails the whole request with `ValidationException` "Total size of the entries in the
 * request is over the limit." (the request-level error AWS returns; there is no per-entry size
 * error code). "You can batch multiple event entries into one request for efficiency. However,
 * the total entry size must be less than 1MB." — EventBridge API Reference, PutEvents
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). AWS raised
 * this from 256 KB in January 2026 (AWS Compute Blog, "More room to build: serverless services
 * now support payloads up to 1 MB"). AWS writes "1MB"; devcloud takes it as 1,048,576 bytes,
 * the number the old limit's "256KB" (262,144) scaled to.
 * Entry size per "Calculating Amazon EventBridge PutEvents event entry size"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html): Time 14 bytes
 * if present; the UTF-8 bytes of Source, DetailType, Detail and each Resources entry.
 */
export const EVENTBRIDGE_PUT_EVENTS_MAX_BYTES = 1_048_576;

/**
 * EventBridge PutEvents: 1 to 10 entries ("Array Members: Minimum number of 1 item. Maximum
 * number of 10 items." — EventBridge API Reference, PutEvents, Entries); more is a
 * `ValidationException` from the model's length constraint.
 */
export const EVENTBRIDGE_PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * DynamoDB item size at most 400 KB = 409,600 bytes, counting the UTF-8 bytes of every
 * attribute name and string value ("The maximum item size in DynamoDB is 400 KB, which
 * includes both attribute name binary length (UTF-8 length) and attribute value lengths
 * (again binary length)" — DynamoDB Developer Guide, Service, account, and table quotas,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html, and
 * "Item sizes and formats", .../CapacityUnitCalculations.html). Over it AWS answers
 * `ValidationException` "Item size has exceeded the maximum allowed size" (PutItem,
 * BatchWriteItem) or "Item size to update has exceeded the maximum allowed size" (UpdateItem).
 * dynalite enforces 409,600 itself; devcloud corrects how it counts (src/emulators/dynalite.ts).
 */
export const DYNAMODB_MAX_ITEM_BYTES = 409_600;

/**
 * DynamoDB TransactWriteItems: "groups up to 100 action requests … no two actions can target the
 * same item … The aggregate size of the items in the transaction cannot exceed 4 MB" (DynamoDB API
 * Reference, TransactWriteItems); "A client request token is valid for 10 minutes after the first
 * request that uses it is completed" (ClientRequestToken). devcloud measures the 4 MB on the
 * request body, which holds the items and a little more.
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)
 */
export const DYNAMODB_TRANSACTION_MAX_ACTIONS = 100;
export const DYNAMODB_TRANSACTION_MAX_BYTES = 4 * 1024 * 1024;
export const DYNAMODB_TRANSACTION_TOKEN_MS = 10 * 60_000;

/**
 * KMS Encrypt: the plaintext is 1 to 4,096 bytes for a symmetric encryption key ("Symmetric
 * encryption KMS keys: Up to 4096 bytes" — AWS KMS API Reference, Encrypt; "Plaintext … Length
 * Constraints: Minimum length of 1. Maximum length of 4096."); over it AWS answers
 * `ValidationException` from the length constraint. Larger data is what GenerateDataKey
 * (envelope encryption) is for.
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html)
 */
export const KMS_MAX_PLAINTEXT_BYTES = 4096;

/**
 * KMS Decrypt / ReEncrypt: "CiphertextBlob … Length Constraints: Minimum length of 1. Maximum
 * length of 6144." — AWS KMS API Reference, Decrypt
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html).
 */
export const KMS_MAX_CIPHERTEXT_BYTES = 6144;

/**
 * KMS GenerateDataKey / GenerateRandom: "NumberOfBytes … Valid Range: Minimum value of 1.
 * Maximum value of 1024." — AWS KMS API Reference, GenerateDataKey
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html).
 */
export const KMS_MAX_DATA_KEY_BYTES = 1024;
