/**
 * The one sanitizer. Text that comes from outside cowtop (process names and command lines,
 * Python's stdout and stderr, report and agent fields, file names in messages) passes through
 * here before it can reach a terminal, a log or a table: a name like `\e]2;TITLE\a\e[2J` must
 * show as those characters, not retitle the window and clear the screen.
 *
 * C0 controls (newline and tab too: one name is one line), DEL and C1 controls (which some
 * terminals obey in their 8-bit form) become a visible `\xHH`; characters that draw nothing but
 * change how a line reads become `\uXXXX`: bidirectional marks, embeddings, overrides and
 * isolates (a line that reads backwards), zero-width spaces and joiners, the word joiner and
 * the byte-order mark (a name that looks like another), and the line and paragraph separators
 * (one name is one line).
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;

// C0 inside strings is escaped by the encoder; outside them it is the encoder's own whitespace.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;

const visible = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

export function sanitize(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** Whether text would pass unchanged (for tests and for cheap checks). */
export function isClean(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return !UNSAFE.test(text);
}

/**
 * JSON for a terminal or a file: the encoder already escapes C0, and here DEL, C1 and the bidi
 * controls become \uXXXX escapes too. Still JSON, and it parses back to the same value.
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(
    UNSAFE_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
