/**
 * The Claude stream-json messages other CLIs' output is translated into (see LogDialect), built
 * in one place so every translator writes the same shapes agentlog and `logs` read.
 */
import { relative } from "node:path";
import { readText } from "../base/read-text";

export type Message = Record<string, any>;

export function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The first line of a run: which CLI, which conversation, which model. */
export function initMessage(agent: string, sessionId: unknown, model?: unknown): Message {
  return { type: "system", subtype: "init", agent, session_id: typeof sessionId === "string" ? sessionId : undefined, model: typeof model === "string" ? model : undefined };
}

export function assistantText(text: string, error?: string): Message {
  return { type: "assistant", message: { role: "assistant", content: [{ type: "text", text }] }, ...(error ? { error } : {}) };
}

export function toolUse(id: unknown, name: string, input: Record<string, unknown>): Message {
  return { type: "assistant", message: { role: "assistant", content: [{ type: "tool_use", id: str(id), name, input }] } };
}

export function toolResult(id: unknown, content: unknown, isError: boolean): Message {
  return { type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: str(id), content: typeof content === "string" ? content : JSON.stringify(content ?? ""), is_error: isError }] } };
}

export function userText(text: string): Message {
  return { type: "user", message: { role: "user", content: text } };
}

/** A line for a person that is neither the agent's words nor a failure (a CLI's warning). */
export function notice(text: string): Message {
  return { type: "system", subtype: "notice", text };
}

export function apiRetry(attempt: string | number, maxRetries: string | number, error: string): Message {
  return { type: "system", subtype: "api_retry", attempt, max_retries: maxRetries, error };
}

/** A finished run: tokens only (no total_cost_usd: these CLIs report no price). */
export function resultMessage(fields: { isError: boolean; text: string; inputTokens: number; cachedTokens: number; outputTokens: number; durationMs?: number; sessionId?: string }): Message {
  return {
    type: "result",
    subtype: fields.isError ? "error_during_execution" : "success",
    is_error: fields.isError,
    num_turns: 1,
    duration_ms: fields.durationMs,
    result: fields.text,
    session_id: fields.sessionId,
    usage: { input_tokens: Math.max(0, fields.inputTokens), cache_read_input_tokens: Math.max(0, fields.cachedTokens), output_tokens: Math.max(0, fields.outputTokens) },
  };
}

/** Claude's assistant `error` value for an API failure told in words (401, 429, 5xx…). */
export function apiErrorCode(message: string): string {
  if (/\b401\b|unauthori[sz]ed|unauthenticated|invalid[_ ]api[_ ]key|incorrect api key|api key not valid|API_KEY_INVALID/i.test(message)) return "authentication_failed";
  if (/insufficient_quota|exceeded your current quota|billing/i.test(message)) return "billing_error";
  if (/\b429\b|rate.?limit|RESOURCE_EXHAUSTED|too many requests/i.test(message)) return "rate_limit";
  if (/model.{0,80}(not found|does not exist|not supported|is not available)|model_not_found/i.test(message)) return "model_not_found";
  if (/\b5\d\d\b|overloaded|UNAVAILABLE|stream disconnected|connection (failed|refused|reset)|error sending request|fetch failed|timed? ?out/i.test(message)) return "server_error";
  return "unknown";
}

/** ANSI colour codes some CLIs put on stderr even when it is a file. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** The persona text for a CLI that takes it inline; a text too large for one argv item is pointed to. */
export function personaText(path: string, maxBytes = 96 * 1024): string {
  const text = readText(path, maxBytes);
  if (text !== undefined) return text.replace(/\0/g, "");
  return `Your role, your rules and how to work with the team are in ${path}: read it before anything else.`;
}

/** The workspace lies outside the agent's working dir (a worktree): the CLI must be told it may write there. */
export function workspaceOutside(cwd: string, workspace: string): boolean {
  const rel = relative(cwd, workspace);
  return rel === ".." || rel.startsWith("../") || rel.startsWith("/");
}
