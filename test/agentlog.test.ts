/**
 * Reading agent.jsonl: totals over every run, the last run's result and failure, partial and
 * garbage lines, and claude's real failure output (recorded from claude 2.1.197 with no login).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentLogReader, classifyFailure, classifyStderr, lastTurnFinished, parseLogLine, readAgentLog, summarizeAgentLog } from "../core/agents/agentlog";
import { FIXTURES } from "./helpers";

const dirs: string[] = [];
function logFile(content = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "cw-agentlog-"));
  dirs.push(dir);
  const path = join(dir, "agent.jsonl");
  writeFileSync(path, content);
  return path;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const init = (sid = "s-1") => JSON.stringify({ type: "system", subtype: "init", session_id: sid, model: "m" });
const text = (t: string) => JSON.stringify({ type: "assistant", message: { role: "assistant", content: [{ type: "text", text: t }] }, session_id: "s-1" });
function result(cost: number, opts: { isError?: boolean; subtype?: string; text?: string; input?: number; output?: number; cacheCreate?: number; cacheRead?: number; turns?: number } = {}): string {
  return JSON.stringify({
    type: "result",
    subtype: opts.subtype ?? "success",
    is_error: opts.isError ?? false,
    num_turns: opts.turns ?? 1,
    duration_ms: 10,
    result: opts.text ?? "ok",
    session_id: "s-1",
    total_cost_usd: cost,
    usage: {
      input_tokens: opts.input ?? 0,
      output_tokens: opts.output ?? 0,
      cache_creation_input_tokens: opts.cacheCreate ?? 0,
      cache_read_input_tokens: opts.cacheRead ?? 0,
    },
  });
}
const lines = (...ls: string[]) => `${ls.join("\n")}\n`;

describe("totals", () => {
  test("are summed over every result line, input tokens including cache reads and writes", () => {
    const path = logFile(
      lines(
        init(),
        text("hi"),
        result(0.25, { input: 10, output: 5, cacheCreate: 100, cacheRead: 1000, turns: 3 }),
        init(),
        result(0.5, { input: 1, output: 2, cacheCreate: 3, cacheRead: 4, turns: 2 }),
        init(),
        result(0.125, { input: 7, turns: 1 }),
      ),
    );
    const s = summarizeAgentLog(path);
    expect(s.totals).toEqual({ costUsd: 0.875, inputTokens: 10 + 100 + 1000 + 1 + 3 + 4 + 7, outputTokens: 7, turns: 6 });
    expect(s.results).toBe(3);
    expect(s.runs).toBe(3);
    expect(s.lastResult?.costUsd).toBe(0.125);
    expect(s.failure).toBeNull();
  });

  test("are a pure function of the file: reading it again gives the same numbers", () => {
    const path = logFile(lines(init(), result(0.1, { input: 5 }), init(), result(0.2, { input: 5 })));
    const a = summarizeAgentLog(path);
    const b = summarizeAgentLog(path);
    expect(b.totals).toEqual(a.totals);
    expect(a.totals.costUsd).toBeCloseTo(0.3, 10);
  });

  test("a missing file is zeros and no finished turn", () => {
    const path = join(logFile(), "..", "nope.jsonl");
    const s = summarizeAgentLog(path);
    expect(s.totals).toEqual({ costUsd: 0, inputTokens: 0, outputTokens: 0, turns: 0 });
    expect(s.lastResult).toBeNull();
    expect(lastTurnFinished(path)).toBe(false);
  });
});

describe("partial and garbage lines", () => {
  test("a partial last line is held back by the reader until its newline arrives", () => {
    const full = result(0.3, { input: 1 });
    const path = logFile(`${init()}\n${full.slice(0, 20)}`);
    const reader = new AgentLogReader(path);
    expect(reader.read().map((e) => e.value?.type)).toEqual(["system"]);
    expect(reader.summary().results).toBe(0);
    expect(reader.read()).toEqual([]);

    appendFileSync(path, `${full.slice(20)}\n`);
    const more = reader.read();
    expect(more.map((e) => e.value?.type)).toEqual(["result"]);
    expect(more[0]!.raw).toBe(full);
    expect(reader.summary().totals.costUsd).toBe(0.3);
    expect(reader.summary().lastTurnFinished).toBe(true);
  });

  test("a multi-byte character split across reads survives", () => {
    const line = text("naïve ✓ done");
    const bytes = Buffer.from(`${line}\n`);
    const cut = bytes.indexOf(Buffer.from("✓")) + 1; // inside the 3-byte character
    const path = logFile();
    writeFileSync(path, bytes.subarray(0, cut));
    const reader = new AgentLogReader(path);
    expect(reader.read()).toEqual([]);
    appendFileSync(path, bytes.subarray(cut));
    const [e] = reader.read();
    expect(e!.value!.message.content[0].text).toBe("naïve ✓ done");
  });

  test("garbage lines are skipped and counted; a message glued behind a broken tail is salvaged", () => {
    // A run killed mid-line leaves half a line; the next run's init is appended right after it.
    const broken = result(9, { input: 999 }).slice(0, 30);
    const path = logFile(lines("not json at all", init(), text("a"), `${broken}${init("s-2")}`, "[1,2]", result(0.5), ""));
    const s = summarizeAgentLog(path);
    expect(s.totals.costUsd).toBe(0.5);
    expect(s.runs).toBe(2);
    expect(s.agentSessionId).toBe("s-1");
    expect(s.garbageLines).toBe(2);
    expect(s.lastTurnFinished).toBe(true);
    expect(parseLogLine(`${broken}${init("s-2")}`)?.session_id).toBe("s-2");
  });

  test("summarize counts a complete JSON tail without its newline; an incomplete one never", () => {
    const path = logFile(`${init()}\n${result(0.2)}`);
    expect(summarizeAgentLog(path).totals.costUsd).toBe(0.2);
    const cut = logFile(`${init()}\n${result(0.2).slice(0, -3)}`);
    const s = summarizeAgentLog(cut);
    expect(s.totals.costUsd).toBe(0);
    expect(s.lastTurnFinished).toBe(false);
  });

  test("a file that shrank (replaced) is read again from the start", () => {
    const path = logFile(lines(init(), result(1), init(), result(2)));
    const reader = new AgentLogReader(path);
    reader.read();
    expect(reader.summary().totals.costUsd).toBe(3);
    writeFileSync(path, lines(init(), result(0.5)));
    reader.read();
    expect(reader.summary().totals.costUsd).toBe(0.5);
  });
});

describe("last turn", () => {
  test("finished only when the last run ended with a result line", () => {
    expect(lastTurnFinished(logFile(lines(init(), text("working"))))).toBe(false);
    expect(lastTurnFinished(logFile(lines(init(), text("working"), result(0.1))))).toBe(true);
    // The previous run finished, the new one was cut off: not finished.
    expect(lastTurnFinished(logFile(lines(init(), result(0.1), init(), text("working"))))).toBe(false);
  });
});

describe("failures", () => {
  test("claude's real not-logged-in output is an auth failure with the fix", () => {
    const path = join(FIXTURES, "claude-not-logged-in.jsonl");
    const raw = readFileSync(path, "utf8");
    // The signature from shared/CLAUDE-CLI.md, as recorded.
    expect(raw).toContain('"error":"authentication_failed"');
    expect(raw).toContain('"is_error":true');
    expect(raw).toContain('"result":"Not logged in · Please run /login"');

    const s = summarizeAgentLog(path);
    expect(s.lastResult).toMatchObject({ isError: true, subtype: "success", text: "Not logged in · Please run /login" });
    expect(s.lastTurnFinished).toBe(true);
    expect(s.failure).toMatchObject({ kind: "auth", fatal: true });
    expect(s.authFailure).toBe(s.failure!.reason);
    expect(s.authFailure).toContain("/login");
    expect(s.authFailure).toContain("ANTHROPIC_API_KEY");
    expect(s.authFailure).toContain("claude-wrapper retry");
  });

  test("the auth failure is found from the result text alone, and from the assistant error alone", () => {
    const byText = summarizeAgentLog(logFile(lines(init(), result(0, { isError: true, text: "Not logged in · Please run /login" }))));
    expect(byText.failure?.kind).toBe("auth");
    const byKey = summarizeAgentLog(logFile(lines(init(), result(0, { isError: true, text: "Invalid API key · Fix external API key" }))));
    expect(byKey.failure?.kind).toBe("auth");
    expect(byKey.authFailure).toContain("API key");
    const assistantOnly = summarizeAgentLog(
      logFile(lines(init(), JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: "x" }] }, error: "billing_error" }))),
    );
    expect(assistantOnly.failure).toMatchObject({ kind: "billing", fatal: true });
    expect(assistantOnly.authFailure).toContain("billing");
    expect(classifyFailure(["oauth_org_not_allowed"], null)?.kind).toBe("auth");
  });

  test("is_error with subtype success is a failure; subtype alone is not judged", () => {
    const s = summarizeAgentLog(logFile(lines(init(), result(0.1, { isError: true, subtype: "success", text: "API Error: something odd" }))));
    expect(s.lastResult?.isError).toBe(true);
    expect(s.failure).toMatchObject({ kind: "other", fatal: false });
    expect(s.authFailure).toBeNull();
    const ok = summarizeAgentLog(logFile(lines(init(), result(0.1, { isError: false, subtype: "error_max_turns" }))));
    expect(ok.failure).toBeNull();
  });

  test("an unreachable API is transient, not fatal", () => {
    const s = summarizeAgentLog(
      logFile(
        lines(
          init(),
          JSON.stringify({ type: "system", subtype: "api_retry", attempt: 1, max_retries: 10, retry_delay_ms: 500 }),
          JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: "API Error" }] }, error: "server_error" }),
          result(0, { isError: true, text: "API Error: Unable to connect to API (ConnectionRefused)" }),
        ),
      ),
    );
    expect(s.failure).toMatchObject({ kind: "transient", fatal: false });
  });

  test("only the last run is judged: a later good run clears an old login failure", () => {
    const failed = readFileSync(join(FIXTURES, "claude-not-logged-in.jsonl"), "utf8");
    const path = logFile(`${failed}${lines(init(), text("logged in now"), result(0.2))}`);
    const s = summarizeAgentLog(path);
    expect(s.failure).toBeNull();
    expect(s.authFailure).toBeNull();
    expect(s.results).toBe(2);
    expect(s.totals.costUsd).toBe(0.2);
  });

  test("a resume of an unknown conversation (result line, no init) is its own run and fatal", () => {
    const recorded = readFileSync(join(FIXTURES, "claude-no-conversation.jsonl"), "utf8");
    const path = logFile(`${lines(init(), result(0.1))}${recorded}`);
    const s = summarizeAgentLog(path);
    expect(s.results).toBe(2);
    expect(s.failure).toMatchObject({ kind: "session", fatal: true });
    expect(s.lastResult?.text).toContain("No conversation found");
  });

  test("claude's stderr complaints are classified", () => {
    expect(classifyStderr("Error: Session ID 123 is already in use.\n")).toMatchObject({ kind: "session", fatal: false });
    expect(classifyStderr("--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons")).toMatchObject({
      kind: "permissions",
      fatal: true,
    });
    expect(classifyStderr("Error: Append system prompt file not found: /x")?.fatal).toBe(true);
    expect(classifyStderr("some warning")).toBeNull();
  });
});

describe("readAgentLog", () => {
  test("returns the entries with the summary, garbage as raw text", () => {
    const { entries, summary } = readAgentLog(logFile(lines(init(), "oops", result(0.4))));
    expect(entries.map((e) => e.value?.type ?? `raw:${e.raw}`)).toEqual(["system", "raw:oops", "result"]);
    expect(summary.totals.costUsd).toBe(0.4);
  });
});
