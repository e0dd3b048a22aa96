/**
 * Google Gemini CLI, headless: `gemini --prompt=… --output-format stream-json`, one turn per run.
 * What every flag and line below rests on was observed on gemini 0.61.0 (see gemini.md beside this).
 */
import type { AgentFailure, RunResultView } from "./dialect";
import { RESTART_HINT, oneLine } from "./failures";
import { type Message, apiErrorCode, assistantText, initMessage, notice, num, personaText, resultMessage, str, stripAnsi, toolResult, toolUse, userText, workspaceOutside } from "./claude-shapes";
import { geminiLogin } from "./gemini-login";
import type { AgentRunner, AgentTurn } from "./types";

/** Persona `permissionMode` (Claude's words, or Gemini's own) → `--approval-mode`. */
export function geminiApprovalMode(mode: string | undefined): string | undefined {
  switch (mode) {
    case undefined:
      return undefined;
    case "acceptEdits":
    case "auto":
    case "auto_edit":
      return "auto_edit";
    case "bypassPermissions":
    case "dontAsk":
    case "yolo":
      return "yolo";
    case "plan":
      return "plan";
    default:
      // default, or anything unknown: Gemini's own default (headless: tools that need approval are refused).
      return "default";
  }
}

/** Claude tool names a persona allows → Gemini's (only the ones that would ask for approval). */
export function geminiAllowedTools(tools: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of tools) {
    const bash = /^Bash(?:\((.*)\))?$/.exec(t);
    if (bash) {
      // `Bash(git log:*)` → `run_shell_command(git log)`: Gemini matches the command's prefix.
      const prefix = bash[1]?.replace(/:\*$/, "").replace(/[(),]/g, "").trim();
      out.add(prefix ? `run_shell_command(${prefix})` : "run_shell_command");
    } else if (t === "Write") out.add("write_file");
    else if (t === "Edit" || t === "MultiEdit") out.add("replace");
    else if (t === "WebFetch") out.add("web_fetch");
  }
  return [...out];
}

/**
 * - `--prompt=<text>` in one argv item: `-p <text>` refuses a text starting with `-`, and a
 *   positional prompt after `--` is ignored.
 * - Array options (`--allowed-tools`, `--include-directories`) in the `=` form, comma-joined,
 *   so none can take the next argument.
 * - `--skip-trust`: a new project folder is otherwise refused headless (exit 55).
 * - Gemini has no "append to the system prompt" (GEMINI_SYSTEM_MD replaces all of its own), so
 *   the persona text opens the conversation's first prompt; a resume finds it in the history.
 * - `--session-id <uuid>` on a fresh conversation, `--resume <uuid>` after.
 */
export function geminiArgv(turn: AgentTurn): string[] {
  const argv = ["gemini", "--output-format", "stream-json", "--skip-trust"];
  if (turn.model) argv.push(`--model=${turn.model}`);
  const mode = turn.skipPermissions ? "yolo" : geminiApprovalMode(turn.persona.permissionMode);
  if (mode) argv.push(`--approval-mode=${mode}`);
  const allowed = turn.skipPermissions ? [] : geminiAllowedTools(turn.persona.allowedTools);
  if (allowed.length) argv.push(`--allowed-tools=${allowed.join(",")}`);
  if (workspaceOutside(turn.cwd, turn.workspace)) argv.push(`--include-directories=${turn.workspace}`);
  argv.push(turn.first ? `--session-id=${turn.agentSessionId ?? ""}` : `--resume=${turn.agentSessionId ?? ""}`);
  const prompt = turn.first ? `${personaText(turn.personaInstructionsPath)}\n\n---\n\n${turn.prompt}` : turn.prompt;
  argv.push(`--prompt=${prompt}`);
  return argv;
}

/** Gemini's tool names and parameters → the ones `logs` knows how to describe. */
function claudeTool(name: string, p: Record<string, any>): { name: string; input: Record<string, unknown> } {
  const file = p.file_path ?? p.absolute_path ?? p.path;
  switch (name) {
    case "run_shell_command":
      return { name: "Bash", input: { command: p.command } };
    case "read_file":
      return { name: "Read", input: { file_path: file } };
    case "write_file":
      return { name: "Write", input: { file_path: file } };
    case "replace":
      return { name: "Edit", input: { file_path: file } };
    case "glob":
      return { name: "Glob", input: { pattern: p.pattern, path: p.path ?? p.dir_path } };
    case "search_file_content":
    case "grep_search":
      return { name: "Grep", input: { pattern: p.pattern, path: p.path ?? p.dir_path } };
    case "web_fetch":
      return { name: "WebFetch", input: { url: p.url ?? p.prompt } };
    case "google_web_search":
      return { name: "WebSearch", input: { query: p.query } };
    case "write_todos":
      return { name: "TodoWrite", input: { todos: p.todos } };
    default:
      return { name, input: p };
  }
}

type State = { text?: string; lastText?: string };

/** Assistant text arrives in pieces (`delta: true`): one message once something else comes. */
function held(state: State): Message[] {
  const text = state.text;
  state.text = undefined;
  if (!text?.trim()) return [];
  state.lastText = text;
  return [assistantText(text)];
}

/** One line of Gemini's stream-json as Claude stream-json; undefined for a line that is not Gemini's. */
export function geminiTranslate(v: Record<string, any>, state: State): Message[] | undefined {
  switch (v.type) {
    case "init":
      state.text = undefined;
      state.lastText = undefined;
      return [initMessage("gemini", v.session_id, v.model)];
    case "message":
      if (v.role === "assistant") {
        if (v.delta) {
          state.text = (state.text ?? "") + str(v.content);
          return [];
        }
        state.text = (state.text ?? "") + str(v.content);
        return held(state);
      }
      return [...held(state), userText(str(v.content))];
    case "tool_use": {
      const t = claudeTool(str(v.tool_name), v.parameters && typeof v.parameters === "object" ? v.parameters : {});
      return [...held(state), toolUse(v.tool_id, t.name, t.input)];
    }
    case "tool_result":
      return [...held(state), toolResult(v.tool_id, v.status === "error" ? (v.error?.message ?? v.output) : (v.output ?? ""), v.status === "error")];
    case "error": {
      if (typeof v.severity !== "string") return undefined;
      const message = str(v.message);
      return [...held(state), v.severity === "error" ? assistantText(message, apiErrorCode(message)) : notice(message)];
    }
    case "result": {
      if (typeof v.status !== "string") return undefined;
      const before = held(state);
      const s = v.stats ?? {};
      const failed = v.status !== "success";
      const text = failed ? str(v.error?.message) || `the turn ended with status ${v.status}` : (state.lastText ?? "");
      state.lastText = undefined;
      // input_tokens = the whole prompt, `cached` a part of it, `input` the rest.
      const cached = num(s.cached);
      const input = typeof s.input === "number" ? s.input : num(s.input_tokens) - cached;
      return [...before, resultMessage({ isError: failed, text, inputTokens: input, cachedTokens: cached, outputTokens: num(s.output_tokens), durationMs: typeof s.duration_ms === "number" ? s.duration_ms : undefined })];
    }
    default:
      return undefined;
  }
}

export const GEMINI_LOGIN_FIX = "set GEMINI_API_KEY (or GOOGLE_GENAI_USE_VERTEXAI=true / GOOGLE_GENAI_USE_GCA=true), or run `gemini` once and choose how to log in";

/** Gemini failures told in a result line (a refused key is an API error, exit = HTTP status mod 256). */
export function geminiFailure(errors: readonly string[], result: RunResultView): AgentFailure | null {
  if (result && !result.isError) return null;
  const text = result?.text ?? "";
  const code = (e: string) => errors.includes(e) || apiErrorCode(text) === e;
  if (code("authentication_failed")) return { kind: "auth", fatal: true, reason: `gemini's credentials were refused (${oneLine(text, 160)}): ${GEMINI_LOGIN_FIX}, ${RESTART_HINT}` };
  if (code("model_not_found")) {
    return { kind: "model", fatal: true, reason: `gemini cannot use that model (${oneLine(text, 160)}): fix \`model:\` in the persona (<workspace>/personas/<persona>.md) or \`team start --model\`, ${RESTART_HINT}` };
  }
  if (code("rate_limit") || code("server_error")) return { kind: "transient", fatal: false, reason: `the API failed (${oneLine(text || errors.join(", "), 200)}); retrying may help` };
  if (result?.isError) return { kind: "other", fatal: false, reason: oneLine(text) || "the gemini turn failed" };
  if (errors.length && !result) return { kind: "other", fatal: false, reason: `gemini reported: ${errors.join(", ")}` };
  return null;
}

/** Gemini tells a missing login, an untrusted folder and bad flags on stderr only (exit 41, 55, 1). */
export function geminiStderr(raw: string): AgentFailure | null {
  const text = stripAnsi(raw);
  const line = (re: RegExp) => oneLine(text.split("\n").find((l) => re.test(l)) ?? text, 240);
  const noAuth = /Please set an Auth method|must specify the GEMINI_API_KEY|When using Vertex AI, you must specify|Invalid auth method selected|auth type .* is enforced/i;
  if (noAuth.test(text)) return { kind: "auth", fatal: true, reason: `gemini has no credentials (${line(noAuth)}): ${GEMINI_LOGIN_FIX}, ${RESTART_HINT}` };
  const noSession = /Error resuming session|No previous sessions found|Invalid session identifier/i;
  if (noSession.test(text)) {
    return { kind: "session", fatal: true, reason: `gemini has no conversation to resume (${line(noSession)}): its chat under ~/.gemini/tmp is gone, or gemini runs as another user or from another directory` };
  }
  const refused = /not running in a trusted directory|Unknown argument|Not enough arguments following|Cannot use both a positional prompt|Invalid values:|already exists\. Use --resume/i;
  if (refused.test(text)) return { kind: "other", fatal: true, reason: `gemini rejected how it was started: ${line(refused)}` };
  return null;
}

export const geminiRunner: AgentRunner = {
  name: "gemini",
  reports: "tokens",
  choosesConversationId: true,
  resumes: "finished-turn",
  argv: geminiArgv,
  env: () => ({}),
  executable: () => "gemini",
  install: "npm install -g @google/gemini-cli",
  login: geminiLogin,
  translate: geminiTranslate,
  flush: (state) => held(state),
  classifyFailure: geminiFailure,
  classifyStderr: geminiStderr,
};
