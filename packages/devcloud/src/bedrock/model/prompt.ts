/**
 * Reads a Converse request the way the local model needs it: which text is the document to
 * work on, which text is instructions, and how many tokens the whole input is.
 */
import { estimateTokens } from "../tokens.ts";
import type { ContentBlock, ConverseRequest, Message } from "../wire.ts";

export interface PromptReading {
  /** The text to summarize / classify. */
  readonly documentText: string;
  /** System prompt plus the user's non-document text: what the caller asked for. */
  readonly instructionText: string;
}

/** Formats whose bytes are text; binary formats (pdf, docx, xlsx) need a real parser and are skipped. */
const TEXT_DOCUMENT_FORMATS = new Set(["txt", "md", "html", "csv"]);

const DOCUMENT_TAG = /<(document|doc|text|content|input)(\s[^>]*)?>([\s\S]*?)<\/\1\s*>/gi;

export function lastUserMessage(request: ConverseRequest): Message | undefined {
  const messages = request.messages ?? [];
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role === "user") return message;
  }
  return undefined;
}

export function documentBlockText(block: ContentBlock): string {
  const document = block.document;
  if (document === undefined) return "";
  const source = document.source;
  if (source?.text !== undefined) return source.text;
  if (source?.bytes === undefined || !TEXT_DOCUMENT_FORMATS.has((document.format ?? "").toLowerCase())) return "";
  const text = Buffer.from(source.bytes, "base64").toString("utf8");
  return document.format === "html" ? text.replace(/<[^>]+>/g, " ") : text;
}

/**
 * Prompts usually wrap the document in tags (`<document>…</document>`) or lead with a short
 * instruction line ending in ":" ("Summarize the following contract:"). Both are recognised;
 * otherwise the whole user text is the document.
 */
export function readPrompt(request: ConverseRequest): PromptReading {
  const message = lastUserMessage(request);
  const documentParts: string[] = [];
  const instructionParts: string[] = (request.system ?? [])
    .map((block) => block.text ?? "")
    .filter((text) => text.length > 0);
  const userTexts: string[] = [];
  for (const block of message?.content ?? []) {
    if (block.text !== undefined) userTexts.push(block.text);
    const attached = documentBlockText(block);
    if (attached.length > 0) documentParts.push(attached);
  }
  const userText = userTexts.join("\n\n");
  const tagged = [...userText.matchAll(DOCUMENT_TAG)];
  if (tagged.length > 0) {
    documentParts.push(...tagged.map((match) => match[3] ?? ""));
    instructionParts.push(userText.replace(DOCUMENT_TAG, " "));
  } else if (documentParts.length > 0) {
    instructionParts.push(userText);
  } else {
    const [first, ...rest] = userText.split(/\n\s*\n/);
    const firstParagraph = (first ?? "").trim();
    if (rest.length > 0 && firstParagraph.length < 400 && /[:?]$/.test(firstParagraph)) {
      instructionParts.push(firstParagraph);
      documentParts.push(rest.join("\n\n"));
    } else {
      instructionParts.push(userText);
      documentParts.push(userText);
    }
  }
  return { documentText: documentParts.join("\n\n").trim(), instructionText: instructionParts.join("\n").trim() };
}

const NUMBER_WORDS: Readonly<Record<string, number>> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  single: 1,
};

/** "in 3 sentences", "in two sentences", "a single sentence" → the count; otherwise undefined. */
export function requestedSentenceCount(instructionText: string): number | undefined {
  const match = /\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|single)\s+sentences?\b/i.exec(
    instructionText,
  );
  if (!match) return /\bone-sentence\b/i.test(instructionText) ? 1 : undefined;
  const word = (match[1] ?? "").toLowerCase();
  const count = NUMBER_WORDS[word] ?? Number.parseInt(word, 10);
  return Number.isFinite(count) && count > 0 ? count : undefined;
}

/** Tokens for everything the model reads: system, every message, and the tool definitions. */
export function countInputTokens(request: ConverseRequest): number {
  let text = "";
  for (const block of request.system ?? []) text += block.text ?? "";
  for (const message of request.messages ?? []) {
    for (const block of message.content) {
      if (block.text !== undefined) text += block.text;
      if (block.toolUse !== undefined) text += JSON.stringify(block.toolUse.input ?? {}) + block.toolUse.name;
      if (block.toolResult !== undefined) {
        for (const part of block.toolResult.content) text += part.text ?? JSON.stringify(part.json ?? "");
      }
      if (block.document !== undefined) {
        const bytes = block.document.source?.bytes;
        // Binary attachments still cost input tokens: count their decoded size.
        text += documentBlockText(block) || " ".repeat(bytes === undefined ? 0 : Math.floor((bytes.length * 3) / 4));
      }
    }
  }
  for (const tool of request.toolConfig?.tools ?? []) {
    if (tool.toolSpec !== undefined) text += JSON.stringify(tool.toolSpec);
  }
  return Math.max(1, estimateTokens(text));
}
