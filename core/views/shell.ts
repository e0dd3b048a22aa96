import { readdirSync } from "node:fs";
import { constants } from "node:os";
import { UserError, errorMessage } from "../base/errors";

/**
 * Run the user's shell in `cwd` with the terminal handed over (stdio inherited) and resolve with
 * its exit code (128 + signal number when a signal ended it, as shells report it).
 *
 * Ctrl-C at the prompt goes to the whole foreground process group, this wrapper included: the
 * shell deals with it, and the wrapper ignores it while the shell runs instead of dying under it.
 */
export async function runShell(cwd: string, env: Record<string, string | undefined>): Promise<number> {
  const shell = process.env.SHELL || "/bin/sh";
  const ignore = () => {};
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGQUIT", "SIGTSTP"];
  for (const s of signals) process.on(s, ignore);
  try {
    let child: ReturnType<typeof Bun.spawn>;
    try {
      child = Bun.spawn([shell], { cwd, env, stdio: ["inherit", "inherit", "inherit"] });
    } catch (err) {
      throw new UserError(`cannot start ${shell} in ${cwd}: ${errorMessage(err)}; set $SHELL to a shell that exists`, 1);
    }
    const code = await child.exited;
    if (child.signalCode) {
      const n = constants.signals[child.signalCode as keyof typeof constants.signals];
      return n ? 128 + n : 1;
    }
    return code;
  } finally {
    for (const s of signals) process.off(s, ignore);
  }
}

/** The session dir's visible files, for the banner. */
export function visibleFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith("."))
      .sort();
  } catch {
    return [];
  }
}
