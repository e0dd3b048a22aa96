import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../base/fsx";
import { readText } from "../base/read-text";

/** The command agents run to reach the team (`claude-wrapper tell …`). */
export const SELF_NAME = "claude-wrapper";
/** Where the workspace keeps the `claude-wrapper` command agents get first on PATH (a dot dir: never watched). */
export const AGENT_BIN_DIR = ".bin";

/**
 * A `bun build --compile` binary runs its entry from a virtual filesystem: `import.meta.path` is
 * `/$bunfs/root/<name>` (checked with bun 1.4.5), `B:/~BUN/root/<name>` on Windows.
 */
export function isCompiledBinary(path: string = import.meta.path): boolean {
  return path.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(path);
}

/** How to run this very program: the binary alone, or Bun with the CLI entry. */
export function selfArgv(): string[] {
  if (isCompiledBinary()) return [process.execPath];
  return [process.execPath, join(import.meta.dir, "..", "..", "cli.ts")];
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shim's text: run this program (binary, or Bun + cli.ts) with the agent's arguments. */
export function shimText(argv: string[] = selfArgv()): string {
  return `#!/bin/sh\n# Written by the orchestrator: the claude-wrapper that runs this team.\nexec ${argv.map(shellQuote).join(" ")} "$@"\n`;
}

/**
 * `<workspace>/.bin/claude-wrapper`, a small shell script that runs this very program, so an agent
 * can call `claude-wrapper tell <teammate> -` from its shell whatever the binary is named or
 * wherever it lives (and under `bun cli.ts`, in tests). Rewritten only when it would change.
 * Answers the dir to put first on the agent's PATH.
 */
export function agentBinDir(workspace: string): string {
  const dir = join(workspace, AGENT_BIN_DIR);
  const path = join(dir, SELF_NAME);
  const text = shimText();
  if (readText(path, 64 * 1024) !== text) {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path, text);
  }
  chmodSync(path, 0o755);
  return dir;
}

/** The PATH an agent gets: the workspace's `claude-wrapper` first, then the orchestrator's PATH. */
export function agentPath(workspace: string, inherited: string | undefined = process.env.PATH): string {
  const dir = agentBinDir(workspace);
  return inherited ? `${dir}:${inherited}` : dir;
}
