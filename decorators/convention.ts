/**
 * Telling the two TypeScript decorator conventions apart, MobX/Lit style: one public decorator, two adapters.
 * @packageDocumentation
 */

// TC39 decorators read Symbol.metadata when a decorated class is defined; Node 20 does not have it yet.
// Set here, in the module every decorator imports, so it exists before any decorated class is evaluated.
(Symbol as { metadata?: symbol }).metadata ??= Symbol("Symbol.metadata");

/** The part of a TC39 decorator context this package reads. */
export interface StandardContext {
  kind: "class" | "method" | "getter" | "setter" | "field" | "accessor";
  name: string | symbol | undefined;
  static?: boolean;
  private?: boolean;
  metadata?: object;
}

/** A TC39 decorator gets `(value, context)` with a context object whose `kind` is a string; legacy ones do not. */
export function isStandardContext(candidate: unknown): candidate is StandardContext {
  return typeof candidate === "object" && candidate !== null && typeof (candidate as { kind?: unknown }).kind === "string";
}

/** A member name as written in source, for messages: `lr`, `[Symbol(id)]`. */
export function memberName(name: string | symbol | undefined): string {
  return typeof name === "symbol" ? `[${name.toString()}]` : String(name);
}
