export interface OutboundEmail {
  id: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  date: string;
}

/** RFC 2047 encoded-word for header values that are not plain ASCII. */
const encodeHeader = (value: string) =>
  /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;

/** Base64 body lines wrapped at 76 characters, as MIME requires. */
const base64Lines = (text: string) => Buffer.from(text, "utf8").toString("base64").replace(/.{76}/g, "$&\r\n");

/**
 * Render an email as an RFC 5322 / MIME message: what a mail client would open. Text and
 * HTML bodies together become multipart/alternative (text first, as clients prefer the last
 * part they can show).
 */
export function renderEml(email: OutboundEmail): string {
  const headers = [
    `From: ${encodeHeader(email.from)}`,
    `To: ${email.to.map(encodeHeader).join(", ")}`,
    ...(email.cc.length ? [`Cc: ${email.cc.map(encodeHeader).join(", ")}`] : []),
    ...(email.replyTo.length ? [`Reply-To: ${email.replyTo.map(encodeHeader).join(", ")}`] : []),
    `Subject: ${encodeHeader(email.subject)}`,
    `Date: ${new Date(email.date).toUTCString()}`,
    `Message-ID: <${email.id}@devcloud.quire.local>`,
    "MIME-Version: 1.0",
  ];
  const part = (type: string, body: string) =>
    [`Content-Type: ${type}; charset=UTF-8`, "Content-Transfer-Encoding: base64", "", base64Lines(body)].join("\r\n");
  if (email.text !== undefined && email.html !== undefined) {
    const boundary = `quire-${email.id}`;
    return [
      ...headers,
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      part("text/plain", email.text),
      `--${boundary}`,
      part("text/html", email.html),
      `--${boundary}--`,
      "",
    ].join("\r\n");
  }
  const [type, body] = email.html !== undefined ? ["text/html", email.html] : ["text/plain", email.text ?? ""];
  return [...headers, part(type, body), ""].join("\r\n");
}
