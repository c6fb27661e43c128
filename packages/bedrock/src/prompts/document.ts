/** Shared by every prompt version: how a document is placed into the user message. */

/**
 * Wraps the document in <document> tags. A literal <document> or </document> inside the text is
 * defanged (the "<" becomes "&lt;") so the document cannot close the tag early and smuggle text
 * outside it, where the model would read it as our instructions.
 */
export function wrapDocument(documentText: string): string {
  const defanged = documentText.replace(/<(\/?)document\b/gi, "&lt;$1document");
  return `<document>\n${defanged}\n</document>`;
}
