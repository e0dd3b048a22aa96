/**
 * `logs`: an agent's agent.jsonl (Claude's stream-json, or another CLI's output translated to it
 * by the session's log dialect) rendered for a person — what it said,
 * which tools it ran, what came back, how each run ended and what it cost — or the raw lines.
 * Following uses @parcel/watcher events on the session dir; a one-second check is the safety net
 * that also notices the dir being archived (renamed to `<id>-completed`) under us.
 */
import { type Paint, PLAIN } from "../cli/output";
import { formatTokens, plural } from "../base/format";
import { isAbsolute, join, relative } from "node:path";
import { type AgentLogEntry, AgentLogReader, type LogDialect, assistantError, classifyFailure, parseResult } from "../agents/agentlog";
import { dialectFor } from "../agents/index";
import { lstatOrUndefined } from "../base/fsx";
import type { SessionRow } from "./listing";
import { isOurProcess } from "../processes/proc";
import { readSession } from "../workspace/session";
import { watchTree } from "../base/watch";
import { archiveDirName } from "../workspace/paths";

export const AGENT_LOG = "agent.jsonl";

export interface RenderOptions {
  palette?: Paint;
  /** Paths are shown relative to this dir when they lie below it. */
  cwd?: string;
  /** Characters of a tool result to show before cutting it short. */
  resultChars?: number;
  /** The CLI whose failures the fix lines speak of (default: Claude Code). */
  dialect?: LogDialect;
}

function clip(s: string, max: number): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function shortPath(p: unknown, cwd: string | undefined): string {
  const s = String(p ?? "");
  if (!cwd || !isAbsolute(s)) return s;
  const rel = relative(cwd, s);
  return rel && !rel.startsWith("..") ? rel : s;
}

/** A tool call in one line: the input that says what it does (command, file, pattern…). */
export function describeToolUse(name: string, input: Record<string, any> | undefined, cwd?: string): string {
  const i = input ?? {};
  switch (name) {
    case "Bash":
      return `${name}: ${clip(String(i.command ?? ""), 160)}`;
    case "Read":
    case "Write":
    case "Edit":
    case "Delete":
    case "MultiEdit":
    case "NotebookEdit":
      return `${name} ${shortPath(i.file_path ?? i.notebook_path, cwd)}`;
    case "Glob":
    case "Grep":
      return `${name} ${clip(String(i.pattern ?? ""), 100)}${i.path ? ` in ${shortPath(i.path, cwd)}` : ""}`;
    case "WebFetch":
      return `${name} ${clip(String(i.url ?? ""), 160)}`;
    case "WebSearch":
      return `${name} ${clip(String(i.query ?? ""), 160)}`;
    case "Task":
    case "Agent":
      return `${name}: ${clip(String(i.description ?? i.prompt ?? ""), 160)}`;
    case "TodoWrite":
      return `${name} (${Array.isArray(i.todos) ? i.todos.length : 0} todos)`;
    default: {
      const json = JSON.stringify(i);
      return `${name} ${clip(json === "{}" ? "" : json, 160)}`.trim();
    }
  }
}

function resultContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((c) => (c && typeof c === "object" && typeof (c as any).text === "string" ? (c as any).text : c?.type ? `[${c.type}]` : ""))
      .join("\n");
  }
  return content === undefined || content === null ? "" : JSON.stringify(content);
}

/** A tool result cut to its first lines. */
export function describeToolResult(content: unknown, max = 300): string {
  const text = resultContent(content).replace(/\s+$/, "");
  if (!text) return "(no output)";
  const lines = text.split("\n");
  const head = lines.slice(0, 3).join(" ⏎ ");
  const more = lines.length > 3 ? ` … (${lines.length - 3} more lines)` : "";
  return `${clip(head, max)}${more}`;
}

function money(usd: number): string {
  return `$${usd.toFixed(usd >= 1 ? 2 : 4)}`;
}

/** What a run cost: dollars, or tokens for a CLI that reports no price (no total_cost_usd). */
function spent(v: Record<string, any>, costUsd: number): string {
  if (typeof v.total_cost_usd === "number") return money(costUsd);
  const u = v.usage ?? {};
  const n = (k: string) => (typeof u[k] === "number" ? u[k] : 0);
  return `${formatTokens(n("input_tokens") + n("cache_read_input_tokens") + n("cache_creation_input_tokens"))} in / ${formatTokens(n("output_tokens"))} out tokens`;
}

/** The lines one log line becomes (none for messages a person does not need). */
export function renderEntry(entry: AgentLogEntry, opts: RenderOptions = {}): string[] {
  if (!entry.value && entry.raw) return [(opts.palette ?? PLAIN).dim(`? ${clip(entry.raw, 160)}`)];
  return entry.messages.flatMap((m) => renderMessage(m, opts));
}

/** The lines one Claude stream-json message becomes. */
export function renderMessage(v: Record<string, any>, opts: RenderOptions = {}): string[] {
  const p = opts.palette ?? PLAIN;
  switch (v.type) {
    case "system": {
      if (v.subtype === "init") {
        const bits = [v.agent, v.model && `model ${v.model}`, v.permissionMode && `permissions ${v.permissionMode}`, v.session_id && `conversation ${v.session_id}`];
        return [p.cyan(`▶ run started · ${bits.filter(Boolean).join(" · ")}`)];
      }
      if (v.subtype === "api_retry") {
        const wait = typeof v.retry_delay_ms === "number" ? ` in ${(v.retry_delay_ms / 1000).toFixed(1)} s` : "";
        return [p.dim(`… API retry ${v.attempt ?? "?"}/${v.max_retries ?? "?"}${wait}${v.error ? ` (${clip(String(v.error), 80)})` : ""}`)];
      }
      if (v.subtype === "notice" && typeof v.text === "string" && v.text.trim()) return [p.dim(`! ${clip(v.text, 200)}`)];
      return [];
    }
    case "assistant": {
      const out: string[] = [];
      const err = assistantError(v);
      const content = Array.isArray(v.message?.content) ? v.message.content : [];
      for (const c of content) {
        if (c?.type === "text" && typeof c.text === "string" && c.text.trim()) {
          if (err) out.push(p.red(`✖ ${err}: ${c.text.trim()}`));
          else out.push(...c.text.trim().split("\n").map((l: string) => `  ${l}`));
        } else if (c?.type === "tool_use") {
          out.push(p.bold(`  → ${describeToolUse(String(c.name ?? "tool"), c.input, opts.cwd)}`));
        }
      }
      if (err && !out.length) out.push(p.red(`✖ ${err}`));
      return out;
    }
    case "user": {
      const content = v.message?.content;
      if (typeof content === "string") return [p.dim(`  » ${clip(content, 200)}`)];
      const out: string[] = [];
      for (const c of Array.isArray(content) ? content : []) {
        if (c?.type === "tool_result") {
          const text = describeToolResult(c.content, opts.resultChars);
          out.push(c.is_error ? p.red(`    ✖ ${text}`) : p.dim(`    ← ${text}`));
        } else if (c?.type === "text" && typeof c.text === "string") {
          out.push(p.dim(`  » ${clip(c.text, 200)}`));
        }
      }
      return out;
    }
    case "result": {
      const r = parseResult(v);
      const facts = [plural(r.turns, "turn"), spent(v, r.costUsd)];
      if (r.durationMs !== null) facts.push(`${(r.durationMs / 1000).toFixed(1)} s`);
      if (!r.isError) return [p.green(`✔ done · ${facts.join(" · ")}`)];
      const failure = classifyFailure([], r, opts.dialect);
      const lines = [p.red(`✖ failed (${r.subtype || "error"}) · ${facts.join(" · ")}: ${clip(r.text || "no message", 300)}`)];
      if (failure && failure.reason !== clip(r.text, 300)) lines.push(p.red(`  fix: ${failure.reason}`));
      return lines;
    }
    default:
      return [];
  }
}

export interface ShowLogOptions {
  row: SessionRow;
  workspace: string;
  follow: boolean;
  json: boolean;
  write(text: string): void;
  /** Notes for a person (nothing to show yet, archived); stderr. */
  note(text: string): void;
  render?: RenderOptions;
  /** Ends following (Ctrl-C). */
  signal?: AbortSignal;
}

/** Print what the reader has not printed yet. */
function emit(entries: AgentLogEntry[], o: ShowLogOptions): void {
  let out = "";
  for (const e of entries) {
    if (o.json) {
      if (e.value) out += `${e.raw}\n`;
    } else {
      for (const line of renderEntry(e, o.render)) out += `${line}\n`;
    }
  }
  if (out) o.write(out);
}

type Ended = "archived" | "completed" | "interrupted" | "gone";

/**
 * Print a session's log; with `follow`, keep printing as it grows until the session completes
 * or is archived (or `signal` aborts). Answers why it stopped.
 */
export async function showSessionLog(o: ShowLogOptions): Promise<Ended | "done"> {
  const { row, workspace } = o;
  const liveDir = row.archived ? row.dir : join(workspace, row.id);
  const archiveDir = join(workspace, archiveDirName(row.id));
  const dialect = dialectFor(row.agent);
  const reader = new AgentLogReader(join(row.dir, AGENT_LOG), dialect);
  if (!o.json) o.render = { ...o.render, dialect };
  const drain = () => emit(reader.read(), o);
  const finish = () => emit(reader.finish().filter((e) => e.value || e.messages.length), o);

  if (!o.follow || row.archived) {
    if (!lstatOrUndefined(reader.path)) o.note(`${row.id} has no agent output yet (status: ${row.status})`);
    drain();
    finish();
    return "done";
  }

  return await new Promise<Ended>((resolvePromise) => {
    let ended = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    let unwatch: (() => Promise<void>) | undefined;
    const end = (why: Ended) => {
      if (ended) return;
      ended = true;
      if (timer) clearInterval(timer);
      o.signal?.removeEventListener("abort", onAbort);
      void unwatch?.().catch(() => {});
      resolvePromise(why);
    };
    const onAbort = () => {
      drain();
      end("interrupted");
    };

    const check = () => {
      if (ended) return;
      if (!lstatOrUndefined(liveDir)) {
        // Archived under us: the same file now lives in the archive dir; read the rest there.
        if (lstatOrUndefined(archiveDir)) {
          reader.path = join(archiveDir, AGENT_LOG);
          drain();
          finish();
          end("archived");
        } else {
          drain();
          end("gone");
        }
        return;
      }
      drain();
      const rec = readSession(liveDir, row.id, row.persona);
      if (rec?.status === "completed" && !isOurProcess(rec.pid, rec.pidStartTime)) {
        drain();
        finish();
        end("completed");
      }
    };

    o.signal?.addEventListener("abort", onAbort);
    if (o.signal?.aborted) return onAbort();
    if (!lstatOrUndefined(reader.path)) o.note(`${row.id} has no agent output yet (status: ${row.status}); waiting for it…`);
    // Subscribe first, then read: a write between the two is seen either way.
    void watchTree(
      liveDir,
      () => check(),
      () => {},
    ).then((h) => {
      if (!h) return;
      if (ended) void h.close().catch(() => {});
      else unwatch = () => h.close();
      check();
    });
    check();
    timer = setInterval(check, 1000);
  });
}
