/**
 * The CLI runner: citty's `runCommand` does the dispatch; a `setup` hook on every command that
 * has subcommands checks what citty would let through (see strict.ts) and answers `--help` at
 * the level it was asked. Mistakes are one line on stderr with an exit code; anything else is a
 * bug and keeps its stack.
 */
import { type ArgsDef, renderUsage, runCommand } from "citty";
import { UserError, errorMessage } from "../base/errors";
import { stripAnsi, wantColor } from "../base/ansi";
import { type AnyCommand, asksForHelp, checkOptions, findSubCommand, resolveValue, subCommandIndex, unknownCommand, visibleNames } from "./strict";

/** Thrown to end the run early once the answer is printed (help, bare usage). */
class Answered extends Error {
  constructor(readonly exitCode: number) {
    super("answered");
  }
}

async function usageText(cmd: AnyCommand, path: string[], stream: { isTTY?: boolean }): Promise<string> {
  const meta = (await resolveValue(cmd.meta)) ?? {};
  const usage = await renderUsage({ ...cmd, meta: { ...meta, name: path.join(" ") } } as AnyCommand);
  // citty colours by the environment alone; a pipe gets plain text.
  const text = wantColor(stream) ? usage : stripAnsi(usage);
  return `${text.replace(/[ \t]+$/gm, "")}\n\n`;
}

async function showHelp(cmd: AnyCommand, path: string[]): Promise<never> {
  process.stdout.write(await usageText(cmd, path, process.stdout));
  throw new Answered(0);
}

/**
 * Before citty goes down to a subcommand: this level's own options, `--help` for this level or
 * for the leaf below (whose required arguments citty would otherwise demand first), the leaf's
 * options, and a name that is no command at all.
 */
async function gate(cmd: AnyCommand, rawArgs: string[], path: string[]): Promise<void> {
  const args = ((await resolveValue(cmd.args)) ?? {}) as ArgsDef;
  const at = subCommandIndex(rawArgs, args);
  const leading = at < 0 ? rawArgs : rawArgs.slice(0, at);
  if (asksForHelp(leading)) await showHelp(cmd, path);
  checkOptions(args, leading, path);

  if (at < 0) {
    if (cmd.run || cmd.default) return;
    if (rawArgs.length === 0) {
      // `claude-wrapper` or `claude-wrapper team` alone: show what there is to run.
      process.stderr.write(await usageText(cmd, path, process.stderr));
      throw new Answered(2);
    }
    const names = await visibleNames(cmd);
    throw new UserError(`\`${path.join(" ")}\` needs a command (${names.join(", ")}); see \`${path.join(" ")} --help\``);
  }
  const name = rawArgs[at]!;
  const sub = await findSubCommand(cmd, name);
  if (!sub) throw await unknownCommand(cmd, name, path);
  if (sub.subCommands) return; // its own gate runs when citty gets there
  const rest = rawArgs.slice(at + 1);
  if (asksForHelp(rest)) await showHelp(sub, [...path, name]);
  checkOptions(((await resolveValue(sub.args)) ?? {}) as ArgsDef, rest, [...path, name]);
}

/**
 * The command tree as citty will walk it, with the gate on every command that has subcommands.
 * Subcommands are wrapped as citty resolves them: nothing is loaded before it is needed.
 */
function guarded(cmd: AnyCommand, path: string[]): AnyCommand {
  if (!cmd.subCommands) {
    // A root with no subcommands has no parent to check it: it checks itself.
    if (path.length > 1) return cmd;
    return {
      ...cmd,
      async setup(ctx) {
        if (asksForHelp(ctx.rawArgs)) await showHelp(cmd, path);
        checkOptions(((await resolveValue(cmd.args)) ?? {}) as ArgsDef, ctx.rawArgs, path);
        await cmd.setup?.(ctx);
      },
    };
  }
  return {
    ...cmd,
    async setup(ctx) {
      await gate(cmd, ctx.rawArgs, path);
      await cmd.setup?.(ctx);
    },
    async subCommands() {
      const subs = (await resolveValue(cmd.subCommands)) ?? {};
      return Object.fromEntries(
        Object.entries(subs).map(([name, sub]) => [name, async () => guarded((await resolveValue(sub)) as AnyCommand, [...path, name])]),
      );
    },
  };
}

/**
 * Run the CLI: `--help` at any level, `--version`, strict options, and one line on stderr for a
 * user's mistake (exit 2, or the error's own code).
 */
export async function runCli(root: AnyCommand, argv: string[], opts: { name: string; version: string }): Promise<void> {
  try {
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
      console.log(opts.version);
      return;
    }
    // consola drops to warnings only when NODE_ENV=test or TEST is set (as in a project's test
    // shell): a command's output must not vanish because of that. CONSOLA_LEVEL still wins.
    // Loading consola costs a tenth of a 10,000-session listing, and the listings never use it:
    // it is imported here only when that environment could have lowered its level.
    if (!process.env.CONSOLA_LEVEL && (process.env.NODE_ENV === "test" || process.env.TEST)) {
      const { consola } = await import("consola");
      if (consola.level < 3) consola.level = 3;
    }
    await runCommand(guarded(root, [opts.name]), { rawArgs: argv });
  } catch (err) {
    if (err instanceof Answered) {
      if (err.exitCode) process.exit(err.exitCode);
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if ((err as Error).name === "CLIError") {
      // citty's own argument errors (missing positional, bad enum value): a user's mistake.
      process.stderr.write(`${opts.name}: ${stripAnsi(errorMessage(err))}\n`);
      process.exit(2);
    }
    const code = (err as { code?: string }).code;
    if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) {
      // The system said no (permissions, a full disk, a file where a dir should be, a lock
      // held elsewhere): not a bug in this program, so one line and exit 1.
      process.stderr.write(`${opts.name}: ${errorMessage(err)}\n`);
      process.exit(1);
    }
    throw err;
  }
}
