/**
 * OpenAI Codex CLI, headless: `codex exec --json`, one turn per run, JSONL events on stdout. What
 * every flag and line below rests on was observed on codex-cli 0.171.0 (see codex.md beside this).
 */
import type { AgentFailure, RunResultView } from "./dialect";
import { RESTART_HINT, oneLine } from "./failures";
import { type Message, apiErrorCode, apiRetry, assistantText, initMessage, notice, num, personaText, resultMessage, str, toolResult, toolUse, workspaceOutside } from "./claude-shapes";
import { firstLine, runProbe, whichOn } from "./probe";
import type { AgentRunner, AgentTurn, LoginProbe, LoginState } from "./types";

/** Persona `permissionMode` (Claude's words, or Codex's own) → `--sandbox`. Unknown: read-only. */
export function codexSandbox(mode: string | undefined): string | undefined {
  switch (mode) {
    case undefined:
      return undefined;
    case "acceptEdits":
    case "auto":
    case "dontAsk":
    case "workspace-write":
      return "workspace-write";
    case "bypassPermissions":
    case "danger-full-access":
      return "danger-full-access";
    default:
      // plan, default (ask first: nobody is there to ask), read-only, anything unknown.
      return "read-only";
  }
}

/** A TOML basic string (what `-c key=value` parses): JSON's escapes are TOML's, plus DEL. */
function tomlString(text: string): string {
  return JSON.stringify(text).replace(/\x7f/g, "\\u007f");
}

/**
 * - Options go before `resume` (after it `-s`/`-C`/`--add-dir` are refused, exit 2); the prompt
 *   goes last after `--`, so neither a prompt starting with `-` nor the variadic `-i` can eat it.
 * - The persona text is a developer message (`-c developer_instructions=…`), sent on a fresh
 *   conversation only: the thread's history keeps it, so a resume does not repeat it.
 * - `--skip-git-repo-check`: the project may not be a git repository.
 * - The conversation id cannot be chosen: a resume names the thread id the first run reported.
 */
export function codexArgv(turn: AgentTurn): string[] {
  const argv = ["codex", "exec", "--json", "--skip-git-repo-check"];
  if (turn.model) argv.push(`--model=${turn.model}`);
  const sandbox = codexSandbox(turn.persona.permissionMode);
  if (turn.skipPermissions) argv.push("--dangerously-bypass-approvals-and-sandbox");
  else if (sandbox) argv.push(`--sandbox=${sandbox}`);
  // In a worktree the workspace (session dirs, requests) is not under the working dir.
  if (!turn.skipPermissions && sandbox === "workspace-write" && workspaceOutside(turn.cwd, turn.workspace)) argv.push(`--add-dir=${turn.workspace}`);
  // In a worktree its commits are written to the repository's git dir, outside the sandbox.
  if (!turn.skipPermissions && sandbox === "workspace-write" && turn.gitDir) argv.push(`--add-dir=${turn.gitDir}`);
  const resume = !turn.first && turn.agentSessionId;
  if (!resume) argv.push("-c", `developer_instructions=${tomlString(personaText(turn.personaInstructionsPath))}`);
  else argv.push("resume", turn.agentSessionId!);
  argv.push("--", turn.prompt);
  return argv;
}

type State = { started?: Set<string>; lastText?: string };

function started(state: State): Set<string> {
  state.started ??= new Set();
  return state.started;
}

function itemMessages(phase: string, item: Record<string, any>, state: State): Message[] {
  const id = str(item.id);
  switch (item.type) {
    case "agent_message":
      if (phase !== "completed" || !str(item.text).trim()) return [];
      state.lastText = item.text;
      return [assistantText(item.text)];
    case "command_execution": {
      const out: Message[] = [];
      if (!started(state).has(id)) {
        started(state).add(id);
        out.push(toolUse(id, "Bash", { command: str(item.command) }));
      }
      if (phase === "completed") {
        const failed = item.status === "failed" || (typeof item.exit_code === "number" && item.exit_code !== 0);
        out.push(toolResult(id, str(item.aggregated_output), failed));
      }
      return out;
    }
    case "file_change":
      if (phase !== "completed" || !Array.isArray(item.changes)) return [];
      return item.changes.map((c: Record<string, unknown>, i: number) =>
        toolUse(`${id}-${i}`, c.kind === "add" ? "Write" : c.kind === "delete" ? "Delete" : "Edit", { file_path: str(c.path) }),
      );
    case "mcp_tool_call": {
      const out: Message[] = [];
      if (!started(state).has(id)) {
        started(state).add(id);
        out.push(toolUse(id, `${str(item.server)}.${str(item.tool)}`, item.arguments && typeof item.arguments === "object" ? item.arguments : {}));
      }
      if (phase === "completed") out.push(toolResult(id, item.error?.message ?? item.result ?? "", !!item.error || item.status === "failed"));
      return out;
    }
    case "web_search":
      return phase === "completed" ? [toolUse(id, "WebSearch", { query: str(item.query) })] : [];
    case "todo_list":
      return phase === "completed" ? [] : [toolUse(id, "TodoWrite", { todos: Array.isArray(item.items) ? item.items : [] })];
    case "error":
      return [notice(str(item.message))];
    default:
      // reasoning (not shown, like Claude's thinking) and item types added later.
      return [];
  }
}

/** One line of `codex exec --json` as Claude stream-json; undefined for a line that is not Codex's. */
export function codexTranslate(v: Record<string, any>, state: State): Message[] | undefined {
  const type = str(v.type);
  switch (type) {
    case "thread.started":
      state.started = undefined;
      return [initMessage("codex", v.thread_id)];
    case "turn.started":
      return [];
    case "turn.completed":
    case "turn.failed": {
      const u = v.usage ?? {};
      const cached = num(u.cached_input_tokens);
      const failed = type === "turn.failed";
      const text = failed ? str(v.error?.message) || "the turn failed" : (state.lastText ?? "");
      state.lastText = undefined;
      // Codex's input_tokens include the cached ones (OpenAI's usage); Claude's do not.
      return [resultMessage({ isError: failed, text, inputTokens: num(u.input_tokens) - cached, cachedTokens: cached, outputTokens: num(u.output_tokens) })];
    }
    case "error": {
      const message = str(v.message);
      // "Reconnecting... 2/5 (…)", "Reconnecting... waiting for network (…)": it retries by itself.
      const retry = /^Reconnecting\.\.\.\s*(?:(\d+)\/(\d+))?\s*(.*)$/s.exec(message);
      if (retry) return [apiRetry(retry[1] ?? "…", retry[2] ?? "…", retry[3]!.replace(/^\((.*)\)$/s, "$1"))];
      return [assistantText(message, apiErrorCode(message))];
    }
    default:
      if (type.startsWith("item.")) return v.item && typeof v.item === "object" ? itemMessages(type.slice(5), v.item, state) : [];
      return undefined;
  }
}

export const CODEX_LOGIN_FIX = "run `codex login` (or `printenv OPENAI_API_KEY | codex login --with-api-key`), or set CODEX_API_KEY";

/** Codex failures in its own words (401 after its retries, quota, unknown model). */
export function codexFailure(errors: readonly string[], result: RunResultView): AgentFailure | null {
  if (result && !result.isError) return null;
  const text = result?.text ?? "";
  const code = (e: string) => errors.includes(e) || apiErrorCode(text) === e;
  if (code("authentication_failed")) {
    return { kind: "auth", fatal: true, reason: `codex was refused by the API (${oneLine(text || "401 Unauthorized", 160)}): its login or key is missing or wrong: ${CODEX_LOGIN_FIX}, ${RESTART_HINT}` };
  }
  if (code("billing_error")) return { kind: "billing", fatal: true, reason: `codex's account has no quota left (${oneLine(text, 160)}): add credit or use another key, ${RESTART_HINT}` };
  if (code("model_not_found")) {
    return { kind: "model", fatal: true, reason: `codex cannot use that model (${oneLine(text, 160)}): fix \`model:\` in the persona (<workspace>/personas/<persona>.md) or \`team start --model\`, ${RESTART_HINT}` };
  }
  if (code("rate_limit") || code("server_error")) return { kind: "transient", fatal: false, reason: `the API failed (${oneLine(text || errors.join(", "), 200)}); retrying may help` };
  if (result?.isError) return { kind: "other", fatal: false, reason: oneLine(text) || "the codex turn failed" };
  if (errors.length && !result) return { kind: "other", fatal: false, reason: `codex reported: ${errors.join(", ")}` };
  return null;
}

/** What codex printed on stderr when it refused to start (clap errors, an unknown thread). */
export function codexStderr(text: string): AgentFailure | null {
  const said = text.split("\n").filter((l) => l.trim() && !/^WARNING: proceeding|^\d{4}-\d\d-\d\dT\S+\s+(ERROR|WARN|INFO)\b/.test(l.trim()));
  const all = said.join("\n");
  if (/no rollout found for thread id/i.test(all)) {
    return { kind: "session", fatal: true, reason: `codex has no conversation to resume (${oneLine(firstLine(all), 200)}): its rollout under ~/.codex/sessions is gone, or codex runs as another user or with another CODEX_HOME` };
  }
  if (/unexpected argument|invalid value .* for|error: the argument|Usage: codex/i.test(all)) return { kind: "other", fatal: true, reason: `codex rejected how it was started: ${oneLine(firstLine(all))}` };
  if (/Not inside a trusted directory/i.test(all)) return { kind: "other", fatal: true, reason: `codex refused the project directory: ${oneLine(firstLine(all))}` };
  return null;
}

/**
 * `codex login status` (no network, nothing spent): exit 0 and "API key configured …" or "Logged
 * in using ChatGPT" on stderr; exit 1 and "Not logged in". It does not look at CODEX_API_KEY,
 * which `codex exec` does use, so that is checked first.
 */
export async function codexLogin(probe: LoginProbe): Promise<LoginState | undefined> {
  if (probe.env.CODEX_API_KEY?.trim()) return { ok: true, detail: "CODEX_API_KEY is set (not verified: a wrong key fails on the first turn)" };
  const exe = whichOn("codex", probe.env);
  if (!exe) return undefined;
  const r = await runProbe([exe, "login", "status"], probe.env, probe.timeoutMs, probe.cwd);
  if (r.timedOut) return undefined;
  const said = firstLine(
    `${r.stderr}\n${r.stdout}`
      .split("\n")
      .filter((l) => !/^WARNING: proceeding|^\d{4}-\d\d-\d\dT/.test(l.trim()))
      .join("\n"),
  );
  if (r.code === 0) return { ok: true, detail: said ? `logged in (${said})` : "logged in" };
  if (/not logged in/i.test(said)) {
    const openai = probe.env.OPENAI_API_KEY?.trim() ? "; OPENAI_API_KEY is set, but `codex exec` does not read it" : "";
    return { ok: false, detail: `not logged in (\`codex login status\`)${openai}`, fix: CODEX_LOGIN_FIX };
  }
  return undefined;
}

export const codexRunner: AgentRunner = {
  name: "codex",
  reports: "tokens",
  choosesConversationId: false,
  resumes: "reported-id",
  argv: codexArgv,
  env: () => ({}),
  executable: () => "codex",
  install: "npm install -g @openai/codex",
  login: codexLogin,
  translate: codexTranslate,
  classifyFailure: codexFailure,
  classifyStderr: codexStderr,
};
