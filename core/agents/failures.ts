/**
 * What went wrong in a run, in words a person can act on: from the run's assistant `error`
 * values and result (Claude's texts here; a runner's own classifier goes first), and from what
 * the CLI printed on stderr before any output.
 */
import { lstatOrUndefined } from "../base/fsx";
import { readRange } from "../base/read-text";
import type { AgentFailure, LogDialect, RunResultView } from "./dialect";

export const RESTART_HINT = "then `claude-wrapper team resume --failed` (or `claude-wrapper retry <name>` for one)";

const AUTH_ERRORS: Record<string, AgentFailure> = {
  authentication_failed: {
    kind: "auth",
    fatal: true,
    reason: `claude is not logged in: run \`claude\` and /login, or set ANTHROPIC_API_KEY, ${RESTART_HINT}`,
  },
  oauth_org_not_allowed: {
    kind: "auth",
    fatal: true,
    reason: `claude's login belongs to an organization that may not use Claude Code (oauth_org_not_allowed): run \`claude\` and /login with another account, or set ANTHROPIC_API_KEY, ${RESTART_HINT}`,
  },
  billing_error: {
    kind: "billing",
    fatal: true,
    reason: `claude reports a billing problem (billing_error: credit balance or plan): fix billing for the account, or /login with another one, ${RESTART_HINT}`,
  },
};

const TRANSIENT_ERRORS = new Set(["rate_limit", "overloaded", "server_error"]);

/**
 * What went wrong in one run, from its assistant `error` values and its result. Login and
 * billing failures are fatal (a restart fails the same way); connection trouble is transient.
 */
export function classifyFailure(errors: readonly string[], result: RunResultView, dialect?: LogDialect): AgentFailure | null {
  const own = dialect?.classifyFailure?.(errors, result);
  if (own !== undefined) return own;
  const text = result?.text ?? "";
  for (const e of errors) if (AUTH_ERRORS[e]) return AUTH_ERRORS[e]!;
  if (/Not logged in|Please run \/login/i.test(text)) return AUTH_ERRORS.authentication_failed!;
  if (/Invalid API key/i.test(text)) {
    return {
      kind: "auth",
      fatal: true,
      reason: `claude rejected the API key (Invalid API key): fix or unset ANTHROPIC_API_KEY, or run \`claude\` and /login, ${RESTART_HINT}`,
    };
  }
  if (/credit balance is too low/i.test(text)) return AUTH_ERRORS.billing_error!;
  if (errors.includes("model_not_found") || (result?.isError && /model.*not.*(found|exist|available)/i.test(text))) {
    return {
      kind: "model",
      fatal: true,
      reason: `the persona's model is not available to this account${text ? ` (${oneLine(text)})` : ""}: fix \`model:\` in the persona (<workspace>/personas/<persona>.md), ${RESTART_HINT}`,
    };
  }
  if (/No conversation found with session ID/i.test(text)) {
    return {
      kind: "session",
      fatal: true,
      reason: `claude has no conversation to resume (${oneLine(text)}): its transcript under ~/.claude/projects is gone, or claude runs as another user or from another directory`,
    };
  }
  const transient = errors.find((e) => TRANSIENT_ERRORS.has(e));
  if (transient || /API Error: (Unable to connect|Overloaded|5\d\d)|rate limit/i.test(text)) {
    if (!result || result.isError) {
      return { kind: "transient", fatal: false, reason: `the API failed (${transient ?? "error"}${text ? `: ${oneLine(text)}` : ""}); retrying may help` };
    }
  }
  if (result?.isError) return { kind: "other", fatal: false, reason: oneLine(text) || `the turn failed (is_error, ${result.subtype || "no subtype"})` };
  if (errors.length && !result) return { kind: "other", fatal: false, reason: `the agent reported ${errors.join(", ")}` };
  return null;
}

/**
 * What claude printed on stderr before any stream-json (bad flags, a reused session id, running
 * as root with --dangerously-skip-permissions). Feed it the stderr of the last run only.
 */
export function classifyStderr(text: string, dialect?: LogDialect): AgentFailure | null {
  const own = dialect?.classifyStderr?.(text);
  if (own !== undefined) return own;
  if (/Session ID .* is already in use/i.test(text)) {
    return {
      kind: "session",
      fatal: false,
      reason: "the claude conversation already exists (a first run was started before): resume it with --resume instead of --session-id",
    };
  }
  if (/No conversation found with session ID/i.test(text)) return classifyFailure([], { isError: true, text: text.trim() });
  if (/dangerously-skip-permissions cannot be used with root/i.test(text)) {
    return {
      kind: "permissions",
      fatal: true,
      reason: "claude refuses --dangerously-skip-permissions when run as root: run `claude-wrapper orchestrate` as a normal user, or set IS_SANDBOX=1 if this machine is a throwaway sandbox",
    };
  }
  if (/Invalid session ID|system prompt file not found|unknown option|requires --verbose|error: option/i.test(text)) {
    return { kind: "other", fatal: true, reason: `claude rejected how it was started: ${oneLine(text)}` };
  }
  if (/Not logged in|Invalid API key/i.test(text)) return classifyFailure([], { isError: true, text });
  return null;
}

/** What one run printed on stderr (from byte `from` on), when it says no restart can help. */
export function fatalOnStderr(path: string, from: number, dialect?: LogDialect): string | undefined {
  const size = lstatOrUndefined(path)?.size ?? 0;
  if (size <= from) return undefined;
  const failure = classifyStderr(readRange(path, from, Math.min(size, from + 64 * 1024)).toString("utf8"), dialect);
  return failure?.fatal ? failure.reason : undefined;
}

export function oneLine(text: string, max = 300): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
