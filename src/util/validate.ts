/**
 * Option validation for every layer. Each public entry point resolves its own options with these once, so the native
 * layer never sees bad input and every message names the option, the expectation and the value. The errors are
 * `InvalidOptionError`s (code INVALID_OPTION), which the CLI rewords with its flag names.
 */
import { InvalidOptionError } from '../errors.js';

/** Describes a received value for an error message: `-1 of type number`, `"abc" of type string`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(shown)} of type string`;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'function') return 'a function';
  return `an object of type ${value.constructor?.name ?? 'Object'}`;
}

/** The error every validator throws: `Expected <expected> for <name> but received <value>`. */
export function invalidParameterError(name: string, expected: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(
    name,
    (option) => `Expected ${expected} for ${option(name)} but received ${describeValue(value)}`,
    { expected, received: value },
  );
}

export function expectInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? min === 1
          ? 'positive integer'
          : min === 0
            ? 'non-negative integer'
            : `integer >= ${min}`
        : `integer between ${min} and ${max}`;
    throw invalidParameterError(name, range, value);
  }
  return value;
}

export function expectPositiveInteger(name: string, value: unknown, max?: number): number {
  return expectInteger(name, value, 1, max);
}

export function expectNumberInRange(
  name: string,
  value: unknown,
  min: number,
  max: number,
  { minExclusive = false, maxExclusive = false } = {},
): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (minExclusive ? value > min : value >= min) &&
    (maxExclusive ? value < max : value <= max);
  if (!ok) {
    const lo = minExclusive ? '(' : '[';
    const hi = maxExclusive ? ')' : ']';
    throw invalidParameterError(name, `number in ${lo}${min}, ${max}${hi}`, value);
  }
  return value as number;
}

export function expectString(name: string, value: unknown, { nonEmpty = false } = {}): string {
  if (typeof value !== 'string' || (nonEmpty && value.length === 0)) {
    throw invalidParameterError(name, nonEmpty ? 'non-empty string' : 'string', value);
  }
  return value;
}

export function expectBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidParameterError(name, 'boolean', value);
  return value;
}

export function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidParameterError(name, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
  return value as T;
}

export function expectObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParameterError(name, 'object', value);
  }
  return value as Record<string, unknown>;
}

export function expectSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalidParameterError(name, 'AbortSignal', value);
  return value;
}

export function expectFunction<T extends (...args: never[]) => unknown>(name: string, value: unknown): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalidParameterError(name, 'function', value);
  return value as T | undefined;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Refuses options an entry point does not know, by name, as sharp does: a typo (`contextsize`) must fail, not be
 * silently ignored. The message suggests the option meant when one is close.
 */
export function expectKnownOptions(options: object, known: readonly string[], entry: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const close = known.find((name) => name.toLowerCase() === key.toLowerCase() || editDistance(name, key) <= 2);
    throw new InvalidOptionError(
      key,
      (name) =>
        `Unknown option ${name(key)} for ${entry}${close ? ` (did you mean ${name(close)}?)` : ''}; ` +
        `the options are ${known.map((option) => name(option)).join(', ')}`,
    );
  }
}
