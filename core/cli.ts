import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { UserError, errorMessage } from "./errors";

type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(v: T | (() => T) | (() => Promise<T>) | Promise<T> | undefined): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

function flagNames(args: ArgsDef): { values: Set<string>; booleans: Set<string> } {
  const values = new Set<string>();
  const booleans = new Set<string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const names = [name, kebab, ...(Array.isArray(def.alias) ? def.alias : def.alias ? [def.alias] : [])];
    for (const n of names) (def.type === "boolean" ? booleans : values).add(n);
  }
  return { values, booleans };
}

interface Resolved {
  cmd: AnyCommand;
  path: string[];
  rest: string[];
}

/** Walk subcommands the way citty will, so help, validation and errors name the right command. */
async function resolveCommand(root: AnyCommand, argv: string[], rootName: string): Promise<Resolved> {
  let cmd = root;
  const path = [rootName];
  let rest = argv;
  for (;;) {
    const subs = await resolve(cmd.subCommands);
    if (!subs || Object.keys(subs).length === 0) return { cmd, path, rest };
    const { values } = flagNames((await resolve(cmd.args)) ?? {});
    let i = 0;
    for (; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === "--") break;
      if (!a.startsWith("-")) break;
      if (!a.includes("=") && values.has(a.replace(/^-+/, ""))) i++;
    }
    const name = rest[i];
    if (name === undefined || name.startsWith("-")) return { cmd, path, rest };
    const sub = subs[name] ? await resolve(subs[name]) : undefined;
    if (!sub) {
      const known = Object.keys(subs).join(", ");
      throw new UserError(`unknown command \`${name}\` for \`${path.join(" ")}\` (commands: ${known}); see \`${path.join(" ")} --help\``);
    }
    cmd = sub as AnyCommand;
    path.push(name);
    rest = rest.slice(i + 1);
  }
}

/** citty ignores unknown flags; a serious CLI names them instead of doing something else. */
function checkFlags(args: ArgsDef, argv: string[], path: string[]): void {
  const { values, booleans } = flagNames(args);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return;
    if (!a.startsWith("-") || a === "-" || /^-\d/.test(a)) continue;
    const [flag, inline] = a.replace(/^-+/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    if (values.has(flag)) {
      if (inline === undefined) {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith("-") && !/^-\d/.test(next))) {
          throw new UserError(`option --${flag} needs a value; see \`${path.join(" ")} --help\``);
        }
        i++;
      }
      continue;
    }
    if (booleans.has(flag) || (flag.startsWith("no-") && booleans.has(flag.slice(3)))) continue;
    if (flag === "help" || flag === "h") continue;
    throw new UserError(`unknown option ${a.split("=")[0]} for \`${path.join(" ")}\`; see \`${path.join(" ")} --help\``);
  }
}

/**
 * Run the CLI: `--help` at any level, `--version`, strict flags, and one line on stderr for a
 * user's mistake (exit 2, or the error's own code). Anything else is a bug and keeps its stack.
 */
export async function runCli(root: AnyCommand, argv: string[], opts: { name: string; version: string }): Promise<void> {
  try {
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
      console.log(opts.version);
      return;
    }
    const { cmd, path, rest } = await resolveCommand(root, argv, opts.name);
    const helpAt = rest.findIndex((a) => a === "--help" || a === "-h");
    const dashdash = rest.indexOf("--");
    if (helpAt >= 0 && (dashdash < 0 || helpAt < dashdash)) {
      const meta = (await resolve(cmd.meta)) ?? {};
      const usage = await renderUsage({ ...cmd, meta: { ...meta, name: path.join(" ") } } as AnyCommand);
      console.log(`${usage}\n`);
      return;
    }
    const subs = await resolve(cmd.subCommands);
    if (subs && Object.keys(subs).length && !cmd.run && !cmd.default) {
      throw new UserError(`\`${path.join(" ")}\` needs a command (${Object.keys(subs).join(", ")}); see \`${path.join(" ")} --help\``);
    }
    checkFlags((await resolve(cmd.args)) ?? {}, rest, path);
    await runCommand(root, { rawArgs: argv });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof UserError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (typeof code === "string" && code.startsWith("E")) {
      // citty's own argument errors (missing positional, bad enum value): a user's mistake.
      process.stderr.write(`${opts.name}: ${errorMessage(err).replace(/\x1b\[[0-9;]*m/g, "")}\n`);
      process.exit(2);
    }
    throw err;
  }
}
