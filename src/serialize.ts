/**
 * JSON for telemetry lines: any value a trainer returns becomes valid JSON on one line, without ever throwing.
 *
 * The common context (`{ loss: 0.25, lr: 0.001 }`) is written field by field, a tree of plain objects by the native
 * `JSON.stringify`; anything it would get wrong or throw on (NaN, BigInt, Map, cycles, throwing getters, very deep
 * nesting) takes a slower walker instead.
 * @packageDocumentation
 */
import { types } from "node:util";
import { describeError } from "./events";
import { safeString } from "./faults";

/**
 * How many levels of objects and arrays a value may nest (the value itself is level 1). Deeper objects and arrays
 * are written as {@link MAX_DEPTH_MARKER}. 100 keeps every line within the nesting limits of common readers
 * (jq 1.6 rejects 256 levels, Python's `json` module about 1,000).
 */
export const MAX_DEPTH = 100;

/** Written in place of an object or array nested deeper than {@link MAX_DEPTH}. */
export const MAX_DEPTH_MARKER = "[MaxDepth]";

/** Written in place of an object that contains itself (a cycle); an object seen twice but not in a cycle is written twice. */
export const CIRCULAR_MARKER = "[Circular]";

/** Starts the string written in place of a value whose getter, `toJSON` or Proxy trap threw: `"[Thrown: TypeError: boom]"`. */
export const THROWN_MARKER_PREFIX = "[Thrown: ";

const OBJECT_PROTOTYPE = Object.prototype;

/**
 * The JSON text of a value, like `JSON.stringify(value)`, but never throwing and never losing a value silently:
 *
 * - `NaN`, `Infinity`, `-Infinity` → the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has no such numbers,
 *   and `JSON.stringify` would write `null`, hiding a diverged loss).
 * - BigInt → a JSON number when it is a safe integer (|n| ≤ 2^53 − 1), else a string of its decimal digits, so no
 *   reader rounds it.
 * - typed arrays → arrays of numbers (same rules); `Set` → array; `Map` → object whose keys are `String(key)`
 *   (the first of two keys with the same string wins).
 * - `Error` → `{type, message, stack, cause?, errors?, ...own enumerable fields}`, `type` being the class name and
 *   `errors` an AggregateError's errors.
 * - `Date` and anything else with `toJSON` → what `toJSON()` returns (an ISO string for a `Date`).
 * - A cycle → `"[Circular]"`; nesting deeper than {@link MAX_DEPTH} → `"[MaxDepth]"`; a getter, `toJSON` or Proxy
 *   trap that throws → `"[Thrown: <Type>: <message>]"`.
 * - Everything else as `JSON.stringify` writes it: `undefined`, functions and symbols are left out of objects and
 *   become `null` in arrays; other objects are written with their own enumerable properties.
 *
 * Returns `undefined` where `JSON.stringify` does: for `undefined`, a function or a symbol.
 *
 * @example
 * ```ts
 * stringifyValue({ loss: NaN, seen: 2n ** 64n }); // '{"loss":"NaN","seen":"18446744073709551616"}'
 * ```
 */
export function stringifyValue(value: unknown): string | undefined {
  if (typeof value === "object" && value !== null) return flatObjectJson(value) ?? treeJson(value);
  return walk(value, "", []);
}

/**
 * {@link stringifyValue} of an object {@link flatObjectJson} declined: for a caller that tried the flat path itself
 * (TelemetryLogger's context), so that a nested context is not walked flat twice.
 */
export function treeJson(value: object): string | undefined {
  try {
    // The fast path: a tree of plain objects, arrays, finite numbers, strings, booleans and null is exactly what
    // the native serializer gets right, and checking that costs less than a replacer function would.
    plainTreeBudget = PLAIN_TREE_BUDGET;
    if (isPlainTree(value, 1)) {
      const json = JSON.stringify(value);
      // The native serializer reads every value again: a getter or Proxy that returned a finite number to the
      // check may hand it NaN (written `null`). A plain tree's only nulls are null values, so a line without
      // "null" is safe; one with it is left to the walker, which reads each value once.
      if (json.indexOf("null") === -1) return json;
    }
  } catch {
    // A getter or Proxy trap threw during the check: the walker writes a marker for it.
  }
  return walk(value, "", []);
}

/**
 * One JSONL line for a record: its JSON text (as {@link stringifyValue} writes it, made {@link portableJson}) and `\n`.
 *
 * @example
 * ```ts
 * toJsonLine({ ts: 1.5, tag: "step_end", step: 3, context: { loss: 0.25 } });
 * // '{"ts":1.5,"tag":"step_end","step":3,"context":{"loss":0.25}}\n'
 * ```
 */
export function toJsonLine(record: object): string {
  return portableJson(stringifyValue(record) ?? "null") + "\n";
}

/**
 * Makes JSON text made by `JSON.stringify` (or {@link stringifyValue}) readable, one record a line, by every
 * common JSONL reader, without changing what a reader gets except for invalid UTF-16:
 *
 * - U+2028, U+2029 and U+0085 become `\u2028`, `\u2029`, `\u0085`. JSON allows them raw inside strings (the only
 *   place they can be), but Python's `str.splitlines()` and JavaScript line readers end a line at them.
 * - A lone surrogate, which `JSON.stringify` writes as `\ud800`, becomes `\ufffd` (U+FFFD, the replacement
 *   character), as a UTF-8 encoder would make of it: jq 1.6 rejects a line holding such an escape.
 */
export function portableJson(text: string): string {
  // Searches before any regex: almost no line has any of these, and a plain search is the cheapest way to know.
  if (text.indexOf("\u2028") !== -1 || text.indexOf("\u2029") !== -1 || text.indexOf("\u0085") !== -1) {
    text = text.replace(/[\u2028\u2029\u0085]/g, (separator) => "\\u" + separator.charCodeAt(0).toString(16).padStart(4, "0"));
  }
  // JSON.stringify escapes surrogates only when they are lone (pairs stay raw), so every unescaped-backslash
  // `\ud800`-`\udfff` escape is a lone one.
  if (text.indexOf("\\ud") !== -1) text = text.replace(LONE_SURROGATE_ESCAPE, "$1\\ufffd");
  return text;
}

/** A `\udXXX` surrogate escape whose backslash is not itself escaped (an even run of backslashes before it). */
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/**
 * `JSON.stringify` as it was when this module loaded. The texts this module keeps (a number's at its field position, a
 * key's) come from it, so that a stub put in place later (a test's spy) and taken away again leaves no text of its own
 * behind, and one that throws does not reach a number's formatting.
 */
const nativeJsonStringify = JSON.stringify;

/** A JSON number, or the name of a non-finite number as a string. */
export function numberJson(value: number): string {
  // `x - x` is 0 for every finite number and NaN otherwise: one subtraction instead of Number.isFinite's call.
  return value - value === 0 ? finiteNumberJson(value) : '"' + value + '"';
}

/**
 * A finite number's JSON text: the text `"" + value` makes, and `JSON.stringify(value)` (the two agree on every
 * finite number, `-0` included). Made by `JSON.stringify` unless it is a 32-bit integer: `"" + value` goes through
 * V8's number-to-string cache, and a number the cache does not hold (a loss, a `duration_ms`: numbers a training
 * run never writes twice) costs a runtime call that formats it, allocates its string and stores it into the cache.
 * `JSON.stringify` formats without the cache:
 * 1.1-1.4x faster there, by host, though it runs more instructions (bench/number-text.ts); slower for a number the
 * cache holds, which a step's loss is not. Small integers (a step, an epoch) stay on `"" + value`, ~2.5x cheaper.
 */
export function finiteNumberJson(value: number): string {
  return (value | 0) === value ? "" + value : nativeJsonStringify(value);
}

/** A BigInt as a JSON number when no reader can round it, else as a string of its digits. */
export function bigintJson(value: bigint): string {
  return value <= MAX_SAFE && value >= MIN_SAFE ? value.toString() : '"' + value.toString() + '"';
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** The marker string written for a value that threw while being read: `"[Thrown: TypeError: boom]"`. */
export function thrownMarker(error: unknown): string {
  return THROWN_MARKER_PREFIX + safeString(error) + "]";
}

/** The JSON string of {@link thrownMarker}. */
export function thrownJson(error: unknown): string {
  return JSON.stringify(thrownMarker(error));
}

/**
 * The JSON of a flat plain object (`{ loss: 0.25, lr: 0.001 }`, a step's usual result) whose values are finite
 * numbers, strings, booleans or null, written field by field; `undefined` for anything else, left to the paths below.
 * The same text as `JSON.stringify`, faster for a step's `{ loss, lr }` (bench/number-text.ts: ~0.6x its time, a
 * loss never seen before beside a constant rate, whose text is kept: see numberJsonAt), and each value is read once.
 * Never throws.
 */
export function flatObjectJson(value: object): string | undefined {
  try {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== OBJECT_PROTOTYPE) {
      if (proto !== null) return undefined;
    } else if (objectPrototypeHasEnumerables()) {
      return undefined; // for-in would list them; JSON.stringify writes own keys only
    }
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
    let json = "";
    let fields = 0;
    for (const key in value) {
      if (++fields > MAX_FLAT_FIELDS) return undefined;
      const item: unknown = (value as Record<string, unknown>)[key];
      let itemJson: string;
      switch (typeof item) {
        case "number":
          if (item - item !== 0) return undefined;
          itemJson = numberJsonAt(fields - 1, item);
          break;
        case "string": itemJson = JSON.stringify(item); break;
        case "boolean": itemJson = item ? "true" : "false"; break;
        case "object":
          if (item !== null) return undefined;
          itemJson = "null";
          break;
        default: return undefined; // undefined, function, symbol (left out by JSON.stringify), bigint
      }
      json += keyJsonAt(fields - 1, key) + itemJson;
    }
    return json === "" ? "{}" : json + "}";
  } catch {
    return undefined; // a getter or Proxy trap threw: the walker writes a marker for it
  }
}

/** An object whose prototype is `Object.prototype`: for-in over it lists what someone made enumerable there. */
const PROTOTYPE_PROBE: object = Object.freeze({});

function objectPrototypeHasEnumerables(): boolean {
  for (const _ in PROTOTYPE_PROBE) return true;
  return false;
}

/**
 * Past this many fields an object goes to the native serializer: field by field loses to it on big objects
 * (about 1.2x its time at 1,000 numeric fields, 2x once the keys outgrow the cache below).
 */
const MAX_FLAT_FIELDS = 64;

/** `"key":` of each object key seen, in JSON: a run writes the same few keys on every record. */
const keyJsonCache = new Map<string, string>();
/** Enough for any real run's field names, and a bound for one that makes a new key per record. */
const MAX_CACHED_KEYS = 1000;
/** A key longer than this is not kept: a thousand hostile megabyte-long keys must not stay in memory. */
const MAX_CACHED_KEY_LENGTH = 256;

/**
 * The key last seen at each position of a flat object, and its JSON with what comes before it (`{"loss":` first,
 * `,"lr":` after). A step's result has the same keys in the same order on every step, so comparing a key with the
 * last one at its position (property names are interned: a pointer compare) replaces most Map lookups (measured: ~200
 * fewer instructions a step, realistic JSONL case), and the separator kept with it saves a concatenation per field
 * (~340 fewer). `undefined` at first, which no key equals.
 */
const keyAtPosition: (string | undefined)[] = new Array<string | undefined>(MAX_FLAT_FIELDS).fill(undefined);
const keyJsonAtPosition: string[] = new Array<string>(MAX_FLAT_FIELDS).fill("");

function keyJsonAt(position: number, key: string): string {
  if (keyAtPosition[position] === key) return keyJsonAtPosition[position];
  const json = (position === 0 ? "{" : ",") + keyJson(key);
  // The same bound as the Map's: a hostile megabyte-long key is written, not kept.
  if (key.length <= MAX_CACHED_KEY_LENGTH) {
    keyAtPosition[position] = key;
    keyJsonAtPosition[position] = json;
  }
  return json;
}

/**
 * The number at each position of the last flat object written (in this thread, by any logger), and its text: a field
 * that holds the same number step after step (a learning rate, a batch size, a flag's 0 or 1) is written from here,
 * one compare instead of formatting it again, as long as the records written in between are of the same shape
 * (`{ loss, lr }` with a constant `lr`: see `bench/number-text.ts`). A number's text depends on its value alone, so
 * whichever key holds it now does not matter; `-0` and `0` both write `0`. NaN at first, which no number equals.
 */
const numberAtPosition: number[] = new Array<number>(MAX_FLAT_FIELDS).fill(Number.NaN);
const numberJsonAtPosition: string[] = new Array<string>(MAX_FLAT_FIELDS).fill("");

function numberJsonAt(position: number, value: number): string {
  if (numberAtPosition[position] === value) return numberJsonAtPosition[position];
  const json = finiteNumberJson(value);
  numberAtPosition[position] = value;
  numberJsonAtPosition[position] = json;
  return json;
}

function keyJson(key: string): string {
  let json = keyJsonCache.get(key);
  if (json === undefined) {
    json = nativeJsonStringify(key) + ":";
    if (keyJsonCache.size < MAX_CACHED_KEYS && key.length <= MAX_CACHED_KEY_LENGTH) keyJsonCache.set(key, json);
  }
  return json;
}

/**
 * How many objects and arrays the fast-path check visits before it leaves the value to the walker. Without it, an
 * object that refers to itself twice (`a.x = a.y = a`) would send the check down 2^MAX_DEPTH paths; the walker
 * stops at the first repeat of an ancestor.
 */
const PLAIN_TREE_BUDGET = 1024;
let plainTreeBudget = 0;

/**
 * Whether the native serializer writes `value` exactly as the walker would: plain objects and arrays only,
 * finite numbers, strings, booleans, null, no `toJSON`, nesting within {@link MAX_DEPTH}. Cycles fail the depth test.
 */
function isPlainTree(value: object, depth: number): boolean {
  if (--plainTreeBudget < 0) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      switch (typeof item) {
        case "number": if (item - item !== 0) return false; break;
        case "string": case "boolean": break;
        case "object": if (item !== null && (depth >= MAX_DEPTH || !isPlainTree(item, depth + 1))) return false; break;
        default: return false; // undefined, function, symbol (the native writes null) and bigint (it throws)
      }
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== OBJECT_PROTOTYPE && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  for (const key in value) {
    const item: unknown = (value as Record<string, unknown>)[key];
    switch (typeof item) {
      case "number": if (item - item !== 0) return false; break;
      case "string": case "boolean": break;
      case "object": if (item !== null && (depth >= MAX_DEPTH || !isPlainTree(item, depth + 1))) return false; break;
      default: return false;
    }
  }
  return true;
}

/**
 * The safe serializer, following the steps of `JSON.stringify` (toJSON, then the type) with the rules of
 * {@link stringifyValue}. Recursion is bounded by {@link MAX_DEPTH}, so it cannot overflow the stack.
 * `ancestors` holds the objects being written, outermost first: a cycle is an object that is its own ancestor.
 */
function walk(value: unknown, key: string, ancestors: object[]): string | undefined {
  if (typeof value === "object" && value !== null) {
    try {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") value = toJSON.call(value, key);
    } catch (error) {
      return thrownJson(error);
    }
  }
  switch (typeof value) {
    case "string": return JSON.stringify(value);
    case "number": return numberJson(value);
    case "boolean": return value ? "true" : "false";
    case "bigint": return bigintJson(value);
    case "object": return value === null ? "null" : objectJson(value, ancestors);
    default: return undefined;
  }
}

function objectJson(value: object, ancestors: object[]): string {
  if (ancestors.length >= MAX_DEPTH) return '"' + MAX_DEPTH_MARKER + '"';
  if (ancestors.includes(value)) return '"' + CIRCULAR_MARKER + '"';
  ancestors.push(value);
  try {
    if (Array.isArray(value)) return itemsJson(value, ancestors);
    if (types.isTypedArray(value)) return typedArrayJson(value);
    if (types.isBoxedPrimitive(value)) return walk(value.valueOf(), "", ancestors) ?? "null";
    if (types.isMap(value)) return mapJson(value as Map<unknown, unknown>, ancestors);
    if (types.isSet(value)) return itemsJson(Array.from(Set.prototype.values.call(value)), ancestors);
    if (types.isNativeError(value) || value instanceof Error) return errorJson(value as Error, ancestors);
    return fieldsJson(value, Object.keys(value), "{", ancestors);
  } catch (error) {
    return thrownJson(error);
  } finally {
    ancestors.pop();
  }
}

function itemsJson(items: ArrayLike<unknown>, ancestors: object[]): string {
  let out = "[";
  for (let i = 0; i < items.length; i++) {
    let item: unknown;
    try {
      item = items[i];
    } catch (error) {
      out += (i === 0 ? "" : ",") + thrownJson(error);
      continue;
    }
    out += (i === 0 ? "" : ",") + (walk(item, String(i), ancestors) ?? "null");
  }
  return out + "]";
}

function typedArrayJson(array: ArrayLike<number | bigint>): string {
  let out = "[";
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    out += (i === 0 ? "" : ",") + (typeof item === "bigint" ? bigintJson(item) : numberJson(item));
  }
  return out + "]";
}

/**
 * Writes `{"k":v,...}` after `opening` (`{` or an already started object); a property whose getter throws gets the
 * marker, one whose value JSON leaves out (undefined, function, symbol) is skipped.
 */
function fieldsJson(value: object, keys: readonly string[], opening: string, ancestors: object[]): string {
  let out = opening;
  let first = opening === "{";
  for (const key of keys) {
    let json: string | undefined;
    try {
      json = walk((value as Record<string, unknown>)[key], key, ancestors);
    } catch (error) {
      json = thrownJson(error);
    }
    if (json === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(key) + ":" + json;
    first = false;
  }
  return out + "}";
}

function mapJson(map: Map<unknown, unknown>, ancestors: object[]): string {
  let out = "{";
  let first = true;
  const seen = new Set<string>();
  // The Map.prototype method, not the instance's: a subclass or an own `entries` cannot change what is read.
  for (const [key, item] of Map.prototype.entries.call(map) as IterableIterator<[unknown, unknown]>) {
    const name = typeof key === "string" ? key : safeString(key);
    if (seen.has(name)) continue;
    seen.add(name);
    const json = walk(item, name, ancestors);
    if (json === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(name) + ":" + json;
    first = false;
  }
  return out + "}";
}

function errorJson(error: Error, ancestors: object[]): string {
  const { type, message } = describeError(error);
  let out = '{"type":' + JSON.stringify(type) + ',"message":' + JSON.stringify(message);
  const written = ["type", "message"];
  const stack = stackOf(error);
  if (stack !== undefined) {
    out += ',"stack":' + JSON.stringify(stack);
    written.push("stack");
  }
  for (const extra of errorExtrasOf(error)) {
    let item: unknown;
    try {
      item = (error as unknown as Record<string, unknown>)[extra];
    } catch (thrown) {
      item = thrownMarker(thrown);
    }
    const json = walk(item, extra, ancestors);
    if (json !== undefined) out += "," + JSON.stringify(extra) + ":" + json;
    written.push(extra);
  }
  return fieldsJson(error, Object.keys(error).filter((key) => !written.includes(key)), out, ancestors);
}

function stackOf(error: Error): string | undefined {
  try {
    const stack = error.stack;
    return typeof stack === "string" ? stack : undefined;
  } catch {
    return undefined;
  }
}

/** The fields of an Error written after its stack, own enumerable or not: `cause`, and an AggregateError's `errors`. */
function errorExtrasOf(error: Error): string[] {
  const extras: string[] = [];
  if ("cause" in error) extras.push("cause");
  if (Object.prototype.hasOwnProperty.call(error, "errors")) extras.push("errors");
  return extras;
}

/**
 * Decides, for each key the serializer would write (an object's field name, a Map key as `String(key)` with the
 * original key beside it), whether its value is replaced: returns the replacement, or `undefined` to keep the value.
 * A replaced value is never read.
 */
export type KeyReplacer = (name: string, key: unknown) => unknown;

/**
 * What the JSONL serializer would write of a value, as a tree of plain objects and arrays (and the numbers, BigInts and
 * strings in them) that it writes the same way: `stringifyValue(jsonSnapshot(v))` equals `stringifyValue(v)` for a
 * value whose getters return the same thing on every read. Each value is read once: `toJSON` applied, Maps as objects
 * keyed by `String(key)`, Sets and typed arrays as arrays, Errors as `{type, message, stack, cause?, errors?, ...}`,
 * cycles, depth and throwing reads as their markers, and `undefined`, functions and symbols left out (`null` in
 * arrays). `redact()` looks for secrets in this tree, so that it sees exactly the keys a logger will write.
 *
 * @param replace - called for every key written; what it returns (other than `undefined`) replaces the value.
 */
export function jsonSnapshot(value: unknown, replace?: KeyReplacer): unknown {
  return snapshotOf(value, "", [], replace);
}

function snapshotOf(value: unknown, key: string, ancestors: object[], replace: KeyReplacer | undefined): unknown {
  if (typeof value === "object" && value !== null) {
    try {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") value = toJSON.call(value, key);
    } catch (error) {
      return thrownMarker(error);
    }
  }
  switch (typeof value) {
    case "string": case "number": case "boolean": case "bigint": return value;
    case "object": return value === null ? null : objectSnapshot(value, ancestors, replace);
    default: return undefined;
  }
}

function objectSnapshot(value: object, ancestors: object[], replace: KeyReplacer | undefined): unknown {
  if (ancestors.length >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  if (ancestors.includes(value)) return CIRCULAR_MARKER;
  ancestors.push(value);
  try {
    if (Array.isArray(value)) return itemsSnapshot(value, ancestors, replace);
    if (types.isTypedArray(value)) return Array.from(value as ArrayLike<number | bigint>);
    if (types.isBoxedPrimitive(value)) return snapshotOf(value.valueOf(), "", ancestors, replace) ?? null;
    if (types.isMap(value)) return mapSnapshot(value as Map<unknown, unknown>, ancestors, replace);
    if (types.isSet(value)) return itemsSnapshot(Array.from(Set.prototype.values.call(value)), ancestors, replace);
    if (types.isNativeError(value) || value instanceof Error) return errorSnapshot(value as Error, ancestors, replace);
    return fieldsSnapshot(value, Object.keys(value), {}, ancestors, replace);
  } catch (error) {
    return thrownMarker(error);
  } finally {
    ancestors.pop();
  }
}

function itemsSnapshot(items: ArrayLike<unknown>, ancestors: object[], replace: KeyReplacer | undefined): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    let item: unknown;
    try {
      item = snapshotOf(items[i], String(i), ancestors, replace);
    } catch (error) {
      item = thrownMarker(error);
    }
    out.push(item === undefined ? null : item);
  }
  return out;
}

/** Sets a field of a snapshot; `__proto__` is defined as a field, as the serializer writes it, never a prototype. */
function setField(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === "__proto__") Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

function fieldsSnapshot(value: object, keys: readonly string[], out: Record<string, unknown>, ancestors: object[], replace: KeyReplacer | undefined): Record<string, unknown> {
  for (const key of keys) {
    let item = replace?.(key, key);
    if (item === undefined) {
      try {
        item = snapshotOf((value as Record<string, unknown>)[key], key, ancestors, replace);
      } catch (error) {
        item = thrownMarker(error);
      }
      if (item === undefined) continue;
    }
    setField(out, key, item);
  }
  return out;
}

function mapSnapshot(map: Map<unknown, unknown>, ancestors: object[], replace: KeyReplacer | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  // As mapJson: the Map.prototype method, so a subclass or an own `entries` cannot hide an entry.
  for (const [key, item] of Map.prototype.entries.call(map) as IterableIterator<[unknown, unknown]>) {
    const name = typeof key === "string" ? key : safeString(key);
    if (seen.has(name)) continue;
    seen.add(name);
    const written = replace?.(name, key) ?? snapshotOf(item, name, ancestors, replace);
    if (written !== undefined) setField(out, name, written);
  }
  return out;
}

function errorSnapshot(error: Error, ancestors: object[], replace: KeyReplacer | undefined): Record<string, unknown> {
  const { type, message } = describeError(error);
  const out: Record<string, unknown> = {};
  const put = (name: string, read: () => unknown): void => {
    let item = replace?.(name, name);
    if (item === undefined) {
      try {
        item = snapshotOf(read(), name, ancestors, replace);
      } catch (thrown) {
        item = thrownMarker(thrown);
      }
    }
    if (item !== undefined) setField(out, name, item);
  };
  put("type", () => type);
  put("message", () => message);
  const written = ["type", "message"];
  const stack = stackOf(error);
  if (stack !== undefined) {
    put("stack", () => stack);
    written.push("stack");
  }
  for (const extra of errorExtrasOf(error)) {
    put(extra, () => (error as unknown as Record<string, unknown>)[extra]);
    written.push(extra);
  }
  return fieldsSnapshot(error, Object.keys(error).filter((key) => !written.includes(key)), out, ancestors, replace);
}
