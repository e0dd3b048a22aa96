import type { AgentRunner, AgentTurn } from "./types";

/**
 * Claude Code, headless: one `-p` turn per run, stream-json on stdout (which the orchestrator
 * sends to agent.jsonl). Flag facts checked against claude 2.1.197 (see shared/CLAUDE-CLI.md):
 * - `--allowedTools <tools...>` is variadic and would swallow a following prompt, so it is given
 *   in the `--allowedTools=A,B` form (the CLI splits on commas; one argv item, nothing swallowed).
 * - The prompt goes last, after `--`, so a prompt starting with `-` is never taken for a flag.
 * - `--session-id` may be used once per conversation ("already in use" after that, even when
 *   the first run failed on login); every later run is `--resume`.
 * - `--dangerously-skip-permissions` is refused when claude runs as root (IS_SANDBOX=1 lifts it).
 */
export function claudeArgv(turn: AgentTurn): string[] {
  const { persona } = turn;
  const argv = [
    "claude",
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--append-system-prompt-file",
    turn.personaInstructionsPath,
    turn.first ? "--session-id" : "--resume",
    turn.agentSessionId ?? "",
  ];
  const model = turn.model ?? persona.model;
  if (model) argv.push("--model", model);
  if (turn.skipPermissions) argv.push("--dangerously-skip-permissions");
  else if (persona.permissionMode) argv.push("--permission-mode", persona.permissionMode);
  if (persona.allowedTools.length) argv.push(`--allowedTools=${persona.allowedTools.join(",")}`);
  argv.push("--", turn.prompt);
  return argv;
}

export const claudeRunner: AgentRunner = {
  name: "claude",
  reports: "usd",
  choosesConversationId: true,
  argv: claudeArgv,
  // Nothing forced: CLAUDE_CODE_MAX_RETRIES and friends stay the user's choice.
  env: () => ({}),
  executable: () => "claude",
};
