import { join } from "node:path";
import type { AgentRunner, AgentTurn } from "./types";

/** Env var that carries the turn's prompt to `sim-agent` (argv stays short and flag-safe). */
export const SIM_PROMPT_ENV = "CLAUDE_WRAPPER_SIM_PROMPT";

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

/**
 * The built-in simulator: the binary re-runs itself as `sim-agent`, which acts out a short,
 * deterministic Claude turn (stream-json on stdout, real edits in the workspace). `demo` uses
 * it, so it needs no claude, no API key and no network. Same conversation rules as claude:
 * `--session-id` on the first run, `--resume` after.
 */
export const simRunner: AgentRunner = {
  name: "sim",
  reports: "usd",
  choosesConversationId: true,
  resumes: "any-run",
  argv: (turn: AgentTurn) => [...selfArgv(), "sim-agent", turn.first ? "--session-id" : "--resume", turn.agentSessionId ?? ""],
  env: (turn: AgentTurn) => ({ [SIM_PROMPT_ENV]: turn.prompt }),
  executable: () => undefined,
  login: async () => ({ ok: true, detail: "built in: needs no account" }),
};
