/**
 * A pull tokenizer for JSON text, shaped like the Jackson streaming parser that event-ruler reads
 * patterns and events with. Streaming (rather than parsing a whole tree first) matters for
 * fidelity: event-ruler validates a pattern token by token, so a semantic error that precedes a
 * syntax error is the one reported. Number tokens keep their source text, because event-ruler
 * distinguishes `300` from `300.0` and `3.0e2` in some places and compares them numerically in others.
 */

export type JsonToken =
  | "startObject"
  | "endObject"
  | "startArray"
  | "endArray"
  | "fieldName"
  | "string"
  | "int"
  | "float"
  | "true"
  | "false"
  | "null";

/** Jackson's JsonParseException: malformed JSON, or a pattern rejected while reading it. */
export class JsonParseError extends Error {
  override readonly name = "JsonParseError";
}

interface OpenContainer {
  readonly kind: "object" | "array";
  /** Offset of the opening bracket, for Jackson-style "starting at" locations. */
  readonly offset: number;
  /** Whether at least one member has been read, so a comma is expected before the next one. */
  hasMembers: boolean;
  /** In an object: whether the next token must be a field name (true) or its value (false). */
  expectingName: boolean;
}

export class JsonTokenizer {
  private readonly source: string;
  private position = 0;
  private readonly containers: OpenContainer[] = [];
  private currentText = "";
  private currentFieldName = "";
  private rootDone = false;

  constructor(source: string) {
    this.source = source;
  }

  /** Text of the current token: the decoded string, the literal number text, or the punctuation. */
  get text(): string {
    return this.currentText;
  }

  /** The name of the field most recently read in the innermost object. */
  get fieldName(): string {
    return this.currentFieldName;
  }

  /** The next token, or null at the end of the input after the root value is complete. */
  next(): JsonToken | null {
    const container = this.containers[this.containers.length - 1];
    this.skipWhitespace();
    if (container === undefined) {
      if (this.rootDone) return null;
      if (this.position >= this.source.length) return null;
      return this.readValue();
    }
    if (this.position >= this.source.length) {
      throw this.error(
        `Unexpected end-of-input: expected close marker for ${container.kind === "object" ? "Object" : "Array"} (start marker at ${this.locationOf(container.offset)})`,
      );
    }
    const ch = this.source[this.position];
    if (ch === "}" || ch === "]") {
      const closesObject = ch === "}";
      if (container.kind === "object" && closesObject && !container.expectingName) {
        throw this.unexpectedCharacter(ch, "expected a value");
      }
      if ((container.kind === "object") !== closesObject) {
        const expected = container.kind === "object" ? "}" : "]";
        const kindName = container.kind === "object" ? "Object" : "Array";
        throw this.error(
          `Unexpected close marker '${ch}': expected '${expected}' (for ${kindName} starting at ${this.locationOf(container.offset)})`,
        );
      }
      this.position++;
      this.containers.pop();
      this.afterValue();
      this.currentText = ch;
      return closesObject ? "endObject" : "endArray";
    }
    if (container.kind === "object") {
      if (container.expectingName) {
        if (container.hasMembers) {
          if (ch !== ",") throw this.unexpectedCharacter(ch, "was expecting comma to separate Object entries");
          this.position++;
          this.skipWhitespace();
        }
        const nameStart = this.source[this.position];
        if (nameStart !== '"') {
          throw this.unexpectedCharacter(nameStart, "was expecting double-quote to start field name");
        }
        this.position++;
        this.currentFieldName = this.readStringBody();
        this.currentText = this.currentFieldName;
        this.skipWhitespace();
        const colon = this.source[this.position];
        if (colon !== ":") {
          throw this.unexpectedCharacter(colon, "was expecting a colon to separate field name and value");
        }
        this.position++;
        container.expectingName = false;
        container.hasMembers = true;
        return "fieldName";
      }
      return this.readValue();
    }
    if (container.hasMembers) {
      if (ch !== ",") throw this.unexpectedCharacter(ch, "was expecting comma to separate Array entries");
      this.position++;
      this.skipWhitespace();
    }
    container.hasMembers = true;
    return this.readValue();
  }

  /** Skips the rest of the structure whose opening token was just returned. */
  skipChildren(): void {
    let depth = 1;
    while (depth > 0) {
      const token = this.next();
      if (token === null) return;
      if (token === "startObject" || token === "startArray") depth++;
      else if (token === "endObject" || token === "endArray") depth--;
    }
  }

  private afterValue(): void {
    const container = this.containers[this.containers.length - 1];
    if (container === undefined) this.rootDone = true;
    else if (container.kind === "object") container.expectingName = true;
  }

  private readValue(): JsonToken {
    this.skipWhitespace();
    const start = this.position;
    const ch = this.source[start];
    if (ch === "{" || ch === "[") {
      this.position++;
      this.containers.push({
        kind: ch === "{" ? "object" : "array",
        offset: start,
        hasMembers: false,
        expectingName: true,
      });
      this.currentText = ch;
      return ch === "{" ? "startObject" : "startArray";
    }
    if (ch === '"') {
      this.position++;
      this.currentText = this.readStringBody();
      this.afterValue();
      return "string";
    }
    if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) {
      const token = this.readNumber();
      this.afterValue();
      return token;
    }
    for (const literal of ["true", "false", "null"] as const) {
      if (this.source.startsWith(literal, start)) {
        const following = this.source[start + literal.length];
        if (following !== undefined && /[A-Za-z0-9_$]/.test(following)) break;
        this.position += literal.length;
        this.currentText = literal;
        this.afterValue();
        return literal;
      }
    }
    if (ch === undefined) throw this.error("Unexpected end-of-input: expected a value");
    throw this.unexpectedCharacter(
      ch,
      "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
    );
  }

  private readNumber(): "int" | "float" {
    const source = this.source;
    const start = this.position;
    let i = start;
    if (source[i] === "-") i++;
    const intStart = i;
    while (isDigit(source[i])) i++;
    if (i === intStart) throw this.error("Invalid numeric value: Missing integer part");
    if (source[intStart] === "0" && i - intStart > 1) {
      throw this.error("Invalid numeric value: Leading zeroes not allowed");
    }
    let isFloat = false;
    if (source[i] === ".") {
      isFloat = true;
      i++;
      const fractionStart = i;
      while (isDigit(source[i])) i++;
      if (i === fractionStart) throw this.error("Unexpected character: Decimal point not followed by a digit");
    }
    if (source[i] === "e" || source[i] === "E") {
      isFloat = true;
      i++;
      if (source[i] === "+" || source[i] === "-") i++;
      const exponentStart = i;
      while (isDigit(source[i])) i++;
      if (i === exponentStart) throw this.error("Unexpected character: Exponent indicator not followed by a digit");
    }
    this.position = i;
    this.currentText = source.slice(start, i);
    return isFloat ? "float" : "int";
  }

  /** Reads a string whose opening quote has been consumed. */
  private readStringBody(): string {
    const source = this.source;
    let result = "";
    let chunkStart = this.position;
    for (;;) {
      const ch = source[this.position];
      if (ch === undefined) throw this.error("Unexpected end-of-input: was expecting closing quote for a string value");
      if (ch === '"') {
        result += source.slice(chunkStart, this.position);
        this.position++;
        return result;
      }
      if (ch === "\\") {
        result += source.slice(chunkStart, this.position);
        this.position++;
        result += this.readEscape();
        chunkStart = this.position;
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) {
        throw this.error(
          `Illegal unquoted character ((CTRL-CHAR, code ${ch.charCodeAt(0)})): has to be escaped using backslash to be included in string value`,
        );
      }
      this.position++;
    }
  }

  private readEscape(): string {
    const ch = this.source[this.position++];
    switch (ch) {
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "/":
        return "/";
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u": {
        const hex = this.source.slice(this.position, this.position + 4);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
          throw this.error("Unexpected character: expected a hex-digit for character escape sequence");
        }
        this.position += 4;
        return String.fromCharCode(Number.parseInt(hex, 16));
      }
      default:
        if (ch === undefined) throw this.error("Unexpected end-of-input in character escape sequence");
        throw this.error(`Unrecognized character escape ${describeCharacter(ch)}`);
    }
  }

  private skipWhitespace(): void {
    const source = this.source;
    for (;;) {
      const ch = source[this.position];
      if (ch === " " || ch === "\n" || ch === "\r" || ch === "\t") this.position++;
      else return;
    }
  }

  private unexpectedCharacter(ch: string | undefined, expectation: string): JsonParseError {
    if (ch === undefined) return this.error(`Unexpected end-of-input: ${expectation}`);
    return this.error(`Unexpected character (${describeCharacter(ch)}): ${expectation}`);
  }

  /** Jackson's location text: `[Source: (String)"…"; line: L, column: C]` (column is 1-based). */
  private locationOf(offset: number): string {
    const before = this.source.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - before.lastIndexOf("\n");
    return `[Source: (String)"${this.source}"; line: ${line}, column: ${column}]`;
  }

  private error(message: string): JsonParseError {
    return new JsonParseError(message);
  }
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= "0" && ch <= "9";
}

function describeCharacter(ch: string): string {
  return `'${ch}' (code ${ch.charCodeAt(0)})`;
}
