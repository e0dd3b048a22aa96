import { runProbe, whichOn } from "./probe";
import type { AgentRunner, AgentTurn, LoginProbe, LoginState } from "./types";

/**
 * Claude Code, headless: one `-p` turn per run, stream-json on stdout (which the orchestrator
 * sends to agent.jsonl). Flag facts checked against claude 2.1.197 (see claude.md beside this):
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
  if (turn.model) argv.push("--model", turn.model);
  if (turn.skipPermissions) argv.push("--dangerously-skip-permissions");
  else if (persona.permissionMode) argv.push("--permission-mode", persona.permissionMode);
  if (persona.allowedTools.length) argv.push(`--allowedTools=${persona.allowedTools.join(",")}`);
  argv.push("--", turn.prompt);
  return argv;
}

export const CLAUDE_LOGIN_FIX = "run `claude auth login` (or `claude` and /login), or set ANTHROPIC_API_KEY";

/**
 * `claude auth status`: JSON `{loggedIn, authMethod, apiProvider, apiKeySource?}`, exit 1 when not
 * logged in; no request, nothing spent. A claude without the `auth` command would take
 * "auth status" for a prompt, so its --help is asked first; without it the answer is "cannot tell".
 */
export async function claudeLogin(probe: LoginProbe): Promise<LoginState | undefined> {
  const exe = whichOn("claude", probe.env);
  if (!exe) return undefined;
  const help = await runProbe([exe, "--help"], probe.env, probe.timeoutMs, probe.cwd);
  if (help.code !== 0 || !/^\s+auth\s/m.test(help.stdout)) return undefined;
  const r = await runProbe([exe, "auth", "status"], probe.env, probe.timeoutMs, probe.cwd);
  let v: Record<string, unknown> | undefined;
  try {
    v = JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
  if (typeof v?.loggedIn !== "boolean") return undefined;
  if (!v.loggedIn) return { ok: false, detail: "not logged in (`claude auth status`)", fix: CLAUDE_LOGIN_FIX };
  const how = [v.authMethod, v.apiProvider !== "firstParty" ? v.apiProvider : undefined, v.apiKeySource].filter((x) => typeof x === "string" && x);
  return { ok: true, detail: `logged in${how.length ? ` (${how.join(", ")})` : ""}` };
}

export const claudeRunner: AgentRunner = {
  name: "claude",
  reports: "usd",
  choosesConversationId: true,
  resumes: "any-run",
  argv: claudeArgv,
  // Nothing forced: CLAUDE_CODE_MAX_RETRIES and friends stay the user's choice.
  env: () => ({}),
  executable: () => "claude",
  install: "npm install -g @anthropic-ai/claude-code",
  login: claudeLogin,
};
