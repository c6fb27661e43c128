import { PutEventsCommand, type EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { eventCatalog, type DetailType, type EventDetail, type ServiceName } from "@quire/contracts";

/**
 * Puts Quire events on the bus as `quire.<service>`. Each detail is parsed by its catalogue
 * schema first, so a malformed event fails here, in the emitter, not in every consumer.
 */
export function createEventPublisher(options: { client: EventBridgeClient; busName: string; service: ServiceName }) {
  const source = `quire.${options.service}`;
  return {
    async put<T extends DetailType>(detailType: T, detail: EventDetail<T>): Promise<string> {
      const entry = eventCatalog[detailType];
      if (
        !(entry.sources as readonly string[]).includes(source) &&
        !(entry.sources as readonly string[]).includes("*")
      ) {
        throw new Error(`${source} is not a declared source of "${detailType}" (see packages/contracts eventCatalog).`);
      }
      const parsed = entry.detail.parse(detail);
      const { FailedEntryCount, Entries } = await options.client.send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: options.busName, Source: source, DetailType: detailType, Detail: JSON.stringify(parsed) },
          ],
        }),
      );
      if (FailedEntryCount) {
        const failure = Entries?.[0];
        throw new Error(`PutEvents refused ${detailType}: ${failure?.ErrorCode} ${failure?.ErrorMessage}`);
      }
      return Entries![0]!.EventId!;
    },
  };
}

export type EventPublisher = ReturnType<typeof createEventPublisher>;
