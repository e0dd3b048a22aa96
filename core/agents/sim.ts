import { selfArgv } from "./self";
import type { AgentRunner, AgentTurn } from "./types";

export { isCompiledBinary, selfArgv } from "./self";

/** Env var that carries the turn's prompt to `sim-agent` (argv stays short and flag-safe). */
export const SIM_PROMPT_ENV = "CLAUDE_WRAPPER_SIM_PROMPT";

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
