import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { UserError, errorMessage } from "../base/errors";

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
    const alias = "alias" in def ? def.alias : undefined;
    const names = [name, kebab, ...(Array.isArray(alias) ? alias : alias ? [alias] : [])];
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
    const args = (await resolve(cmd.args)) ?? {};
    const { values } = flagNames(args);
    let i = 0;
    for (; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === "--") break;
      if (!a.startsWith("-")) break;
      if (!a.includes("=") && values.has(a.replace(/^-+/, ""))) i++;
    }
    const name = rest[i];
    if (name === undefined || name.startsWith("-")) return { cmd, path, rest };
    // Flags given before the subcommand belong to this level: `--help` shows this level's
    // usage, anything unknown is named here rather than silently dropped.
    const leading = rest.slice(0, i);
    if (leading.some((a) => a === "--help" || a === "-h")) return { cmd, path, rest };
    checkFlags(args, leading, path);
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
    // `-la`: a cluster of one-letter boolean flags, as the argument parser reads it.
    if (/^-[a-zA-Z]{2,}$/.test(a) && [...flag].every((c) => booleans.has(c))) continue;
    if (flag === "help" || flag === "h") continue;
    throw new UserError(`unknown option ${a.split("=")[0]} for \`${path.join(" ")}\`; see \`${path.join(" ")} --help\``);
  }
}

export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** Colour only for a terminal that wants it (https://no-color.org); never trailing blanks. */
function wantColor(tty = process.stdout.isTTY): boolean {
  return !!tty && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

async function usageText(cmd: AnyCommand, path: string[], plain = !wantColor()): Promise<string> {
  const meta = (await resolve(cmd.meta)) ?? {};
  const usage = await renderUsage({ ...cmd, meta: { ...meta, name: path.join(" ") } } as AnyCommand);
  const text = plain ? stripAnsi(usage) : usage;
  return `${text.replace(/[ \t]+$/gm, "")}\n\n`;
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
    // consola drops to warnings only when NODE_ENV=test or TEST is set (as in a project's test
    // shell): a command's output must not vanish because of that. CONSOLA_LEVEL still wins.
    // Loading consola costs ~12 ms, a tenth of a 10,000-session listing, and only a few commands
    // use it: it is imported here only when that environment could have lowered its level.
    if (!process.env.CONSOLA_LEVEL && (process.env.NODE_ENV === "test" || process.env.TEST)) {
      const { consola } = await import("consola");
      if (consola.level < 3) consola.level = 3;
    }
    const { cmd, path, rest } = await resolveCommand(root, argv, opts.name);
    const helpAt = rest.findIndex((a) => a === "--help" || a === "-h");
    const dashdash = rest.indexOf("--");
    if (helpAt >= 0 && (dashdash < 0 || helpAt < dashdash)) {
      process.stdout.write(await usageText(cmd, path));
      return;
    }
    checkFlags((await resolve(cmd.args)) ?? {}, rest, path);
    const subs = await resolve(cmd.subCommands);
    if (subs && Object.keys(subs).length && !cmd.run && !cmd.default) {
      if (rest.length === 0) {
        // `claude-wrapper` or `claude-wrapper team` alone: show what there is to run.
        process.stderr.write(await usageText(cmd, path, !wantColor(process.stderr.isTTY)));
        process.exit(2);
      }
      throw new UserError(`\`${path.join(" ")}\` needs a command (${Object.keys(subs).join(", ")}); see \`${path.join(" ")} --help\``);
    }
    await runCommand(root, { rawArgs: argv });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof UserError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if ((err as Error).name === "CLIError") {
      // citty's own argument errors (missing positional, bad enum value): a user's mistake.
      process.stderr.write(`${opts.name}: ${stripAnsi(errorMessage(err))}\n`);
      process.exit(2);
    }
    if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) {
      // The system said no (permissions, a full disk, a file where a dir should be, a lock
      // held elsewhere): not a bug in this program, so one line and exit 1.
      process.stderr.write(`${opts.name}: ${errorMessage(err)}\n`);
      process.exit(1);
    }
    throw err;
  }
}
