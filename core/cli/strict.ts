/**
 * What citty lets through and a careful CLI does not: an option nobody defined (citty keeps it as
 * a stray key), an option that needs a value given none, a command that does not exist. Each is
 * judged from citty's own parse and the command's own argument definitions, and named in one line
 * with what was probably meant.
 */
import { type ArgDef, type ArgsDef, type CommandDef, type CommandMeta, parseArgs } from "citty";
import { UserError } from "../base/errors";
import { didYouMean, orList } from "../base/suggest";

export type AnyCommand = CommandDef<ArgsDef>;

export async function resolveValue<T>(v: T | (() => T) | (() => Promise<T>) | Promise<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Every spelling citty accepts for an option: its name in both cases, and its aliases. */
function spellings(name: string, def: ArgDef): string[] {
  const alias = "alias" in def ? def.alias : undefined;
  return [name, kebab(name), camel(name), ...(Array.isArray(alias) ? alias : alias ? [alias] : [])];
}

function options(args: ArgsDef): Array<[string, ArgDef]> {
  return Object.entries(args).filter(([, def]) => def.type !== "positional");
}

const takesValue = (def: ArgDef) => def.type === "string" || def.type === "enum";
const optionLike = (token: string) => token.startsWith("-") && token !== "-" && !/^-\d/.test(token);

/** The tokens before `--`: after it everything is an argument, whatever it looks like. */
export function beforeDashDash(tokens: string[]): string[] {
  const at = tokens.indexOf("--");
  return at < 0 ? tokens : tokens.slice(0, at);
}

export function asksForHelp(tokens: string[]): boolean {
  return beforeDashDash(tokens).some((t) => t === "--help" || t === "-h");
}

/**
 * Where the subcommand's name is in `tokens`, skipping this level's options and their values the
 * way citty does; -1 when there is none.
 */
export function subCommandIndex(tokens: string[], args: ArgsDef): number {
  const valued = new Set(options(args).flatMap(([name, def]) => (takesValue(def) ? spellings(name, def) : [])));
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "--") return -1;
    if (!t.startsWith("-")) return i;
    if (!t.includes("=") && valued.has(t.replace(/^-{1,2}/, ""))) i++;
  }
  return -1;
}

/** Unknown options and options missing their value, in `tokens` (all meant for one command). */
export function checkOptions(args: ArgsDef, tokens: string[], path: string[]): void {
  const defs = options(args);
  const cmd = path.join(" ");
  const own = beforeDashDash(tokens);

  for (let i = 0; i < own.length; i++) {
    const name = own[i]!.replace(/^-{1,2}/, "");
    const def = !own[i]!.includes("=") && own[i]!.startsWith("-") ? defs.find(([n, d]) => takesValue(d) && spellings(n, d).includes(name)) : undefined;
    if (!def) continue;
    const next = own[i + 1];
    if (next === undefined || optionLike(next)) throw new UserError(`option --${kebab(def[0])} needs a value; see \`${cmd} --help\``);
    i++;
  }

  // citty's parser (node:util parseArgs, not strict) keeps an option it does not know as a key
  // of its own: whatever key no definition accounts for was never defined.
  const known = new Set(["_", "help", "h", ...defs.flatMap(([name, def]) => spellings(name, def))]);
  const parsed = parseArgs(own, Object.fromEntries(defs));
  const stray = Object.keys(parsed).find((k) => !known.has(k));
  if (stray === undefined) return;
  const token = own.find((t) => t === `--${stray}` || t.startsWith(`--${stray}=`) || t === `--no-${stray}`) ?? own.find((t) => /^-[^-]/.test(t) && t.slice(1).includes(stray)) ?? `--${stray}`;
  const near = didYouMean(stray, defs.map(([name]) => kebab(name)));
  const hint = near.length ? `did you mean ${orList(near, (w) => `--${w}`)}?` : `see \`${cmd} --help\``;
  throw new UserError(`unknown option ${token.split("=")[0]} for \`${cmd}\`; ${hint}`);
}

export interface SubCommandEntry {
  name: string;
  cmd: AnyCommand;
  meta: CommandMeta;
}

/** A command's subcommands with their metadata (each module is loaded). */
export async function listSubCommands(cmd: AnyCommand): Promise<SubCommandEntry[]> {
  const subs = (await resolveValue(cmd.subCommands)) ?? {};
  return Promise.all(
    Object.entries(subs).map(async ([name, sub]) => {
      const resolved = (await resolveValue(sub)) as AnyCommand;
      return { name, cmd: resolved, meta: (await resolveValue(resolved.meta)) ?? {} };
    }),
  );
}

/** The subcommand `name` (or an alias of one), as citty will find it; undefined if none. */
export async function findSubCommand(cmd: AnyCommand, name: string): Promise<AnyCommand | undefined> {
  const subs = (await resolveValue(cmd.subCommands)) ?? {};
  if (Object.hasOwn(subs, name)) return (await resolveValue(subs[name])) as AnyCommand;
  const aliased = (await listSubCommands(cmd)).find((s) => [s.meta.alias ?? []].flat().includes(name));
  return aliased?.cmd;
}

/** The names a person may type (hidden, internal commands are not offered). */
export async function visibleNames(cmd: AnyCommand): Promise<string[]> {
  return (await listSubCommands(cmd)).filter((s) => !s.meta.hidden).map((s) => s.name);
}

export async function unknownCommand(cmd: AnyCommand, name: string, path: string[]): Promise<UserError> {
  const names = await visibleNames(cmd);
  const near = didYouMean(name, names);
  const where = path.slice(1);
  const hint = near.length
    ? `did you mean ${orList(near.map((n) => [...where, n].join(" ")))}?`
    : `commands: ${names.join(", ")}; see \`${path.join(" ")} --help\``;
  return new UserError(`unknown command \`${name}\` for \`${path.join(" ")}\`; ${hint}`);
}
