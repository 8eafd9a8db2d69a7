/**
 * Step 2a: a unit's bytes or cells to the document's text and id, or the reason it is not a document.
 * One place for what counts as a valid record, used in the worker threads (`infoprune score`) and on the main thread
 * (`readCorpus`, which `infoprune prune` reads with), so both skip the same records for the same reasons.
 */
import { isUtf8 } from 'node:buffer';

export interface ParseOptions {
  textField: string;
  /** The id field; when `explicit`, a record without it is an error, else a missing id falls back to `<source>:<line>`. */
  idField: string;
  idFieldExplicit: boolean;
}

export interface ParsedDocument {
  text: string;
  /** The id field's value, stringified; undefined when the record has none (then the id is `<source>:<line>`). */
  id: string | undefined;
  /** The parsed JSON object (JSONL only). */
  object?: Record<string, unknown>;
}

export type ParseOutcome = ParsedDocument | { reason: string };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(data: Uint8Array): string | undefined {
  if (!isUtf8(data)) return undefined;
  return decoder.decode(data);
}

/** The default id of a document without an id field. */
export function positionId(source: string, line: number): string {
  return `${source}:${line}`;
}

function checkText(value: unknown, field: string): string | { reason: string } {
  if (value === undefined) return { reason: `missing text field ${JSON.stringify(field)}` };
  if (typeof value !== 'string') {
    return {
      reason: `text field ${JSON.stringify(field)} is ${value === null ? 'null' : `of type ${Array.isArray(value) ? 'array' : typeof value}`}, not a string`,
    };
  }
  if (value.length === 0) return { reason: 'empty text' };
  return value;
}

/**
 * An id cell as the document's id. A JSON number is taken as written (`sourceText`): JSON.parse turns
 * 12345678901234567891 into a double, and two ids beyond 2^53 would become the same string.
 */
function checkId(
  value: unknown,
  options: ParseOptions,
  sourceText?: () => string | undefined,
): string | undefined | { reason: string } {
  if (value === undefined || value === null) {
    return options.idFieldExplicit ? { reason: `missing id field ${JSON.stringify(options.idField)}` } : undefined;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return sourceText?.() ?? String(value);
  if (typeof value === 'bigint') return String(value);
  return {
    reason: `id field ${JSON.stringify(options.idField)} is of type ${Array.isArray(value) ? 'array' : typeof value}, not a string or number`,
  };
}

/** A JSONL line (without its line end). */
export function parseJsonLine(data: Uint8Array, options: ParseOptions): ParseOutcome {
  const line = decodeUtf8(data);
  if (line === undefined) return { reason: 'invalid UTF-8' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { reason: `malformed JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { reason: `not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})` };
  }
  const object = value as Record<string, unknown>;
  const text = checkText(object[options.textField], options.textField);
  if (typeof text !== 'string') return text;
  const id = checkId(object[options.idField], options, () => topLevelValueText(line, options.idField));
  if (typeof id === 'object') return id;
  return { text, id, object };
}

/** A text line or a whole text file. */
export function parseText(data: Uint8Array): ParseOutcome {
  const text = decodeUtf8(data);
  if (text === undefined) return { reason: 'invalid UTF-8' };
  if (text.length === 0) return { reason: 'empty text' };
  return { text, id: undefined };
}

/** A Parquet row's text and id cells (a byte-array text column is decoded as UTF-8). */
export function parseCells(textCell: unknown, idCell: unknown, options: ParseOptions): ParseOutcome {
  let textValue = textCell;
  if (textValue instanceof Uint8Array) {
    textValue = decodeUtf8(textValue);
    if (textValue === undefined) return { reason: 'invalid UTF-8' };
  }
  const text = checkText(textValue, options.textField);
  if (typeof text !== 'string') return text;
  const id = checkId(idCell, options);
  if (typeof id === 'object') return id;
  return { text, id };
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(json: string, at: number): number {
  let i = at;
  while (i < json.length && WHITESPACE.has(json[i])) i++;
  return i;
}

/** Where the JSON string starting at `at` (its opening quote) ends, after its closing quote. */
function endOfString(json: string, at: number): number {
  let i = at + 1;
  while (i < json.length && json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Where the JSON value starting at `at` ends. */
function endOfValue(json: string, at: number): number {
  const first = json[at];
  if (first === '"') return endOfString(json, at);
  if (first === '{' || first === '[') {
    let depth = 0;
    let i = at;
    while (i < json.length) {
      const c = json[i];
      if (c === '"') {
        i = endOfString(json, i);
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
      i++;
    }
    return i;
  }
  let i = at;
  while (i < json.length && !WHITESPACE.has(json[i]) && json[i] !== ',' && json[i] !== '}' && json[i] !== ']') i++;
  return i;
}

/**
 * The source text of a top-level field's value in a JSON object's text (one JSON.parse accepted), or undefined when
 * it has no such field. With duplicate keys, the last one, as JSON.parse takes it.
 */
export function topLevelValueText(json: string, field: string): string | undefined {
  let found: string | undefined;
  let i = skipWhitespace(json, 0) + 1; // after the opening brace
  for (;;) {
    i = skipWhitespace(json, i);
    if (i >= json.length || json[i] !== '"') return found;
    const keyEnd = endOfString(json, i);
    const rawKey = json.slice(i + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(json.slice(i, keyEnd)) as string) : rawKey;
    i = skipWhitespace(json, skipWhitespace(json, keyEnd) + 1); // past the colon
    const valueEnd = endOfValue(json, i);
    if (key === field) found = json.slice(i, valueEnd);
    i = skipWhitespace(json, valueEnd);
    if (json[i] !== ',') return found;
    i++;
  }
}
