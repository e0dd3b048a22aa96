/**
 * Codex and Gemini runners without a supervisor: the exact argv on a first run and a resume, how
 * persona frontmatter maps to their sandbox / approval flags, their output read as totals and
 * failures (real Codex output recorded from 0.171.0, formats as observed), what `logs` makes of
 * it, and their login probes against the fakes in test/fixtures.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readAgentLog, summarizeAgentLog } from "../core/agents/agentlog";
import { claudeLogin } from "../core/agents/claude";
import { codexArgv, codexLogin, codexRunner, codexSandbox } from "../core/agents/codex";
import { geminiAllowedTools, geminiApprovalMode, geminiArgv, geminiRunner } from "../core/agents/gemini";
import { geminiLoginState } from "../core/agents/gemini-login";
import { dialectFor, runnerFor } from "../core/agents/index";
import { checkAgentLogins, requireAgentLogins } from "../core/agents/login";
import type { AgentTurn } from "../core/agents/types";
import { renderEntry } from "../core/views/logview";
import { FIXTURES, type Sandbox, agentTurn, sandboxes } from "./helpers";

const box = sandboxes("cw-agents-cli-");
afterEach(box.cleanup);

const THREAD = "01a21d4a-298f-7483-90d2-8b4826343627";

function turn(sb: Sandbox, persona: string, fields: Partial<AgentTurn> = {}): AgentTurn {
  const t = agentTurn(sb, persona, { prompt: "-x Start working on your assigned tasks", ...fields });
  mkdirSync(t.sessionDir, { recursive: true });
  writeFileSync(t.personaInstructionsPath, 'You are the "intern".\nSay \\ when done.\n');
  return t;
}

function logOf(sb: Sandbox, text: string): string {
  const path = join(sb.root, "agent.jsonl");
  writeFileSync(path, text);
  return path;
}

describe("codex argv", () => {
  test("first run: exec --json, sandbox from the persona, persona text as a TOML developer message, prompt after --", () => {
    const sb = box();
    const t = turn(sb, "intern", { model: "gpt-5-codex" });
    expect(codexArgv(t)).toEqual([
      "codex",
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--model=gpt-5-codex",
      "--sandbox=workspace-write",
      "-c",
      'developer_instructions="You are the \\"intern\\".\\nSay \\\\ when done.\\n"',
      "--",
      "-x Start working on your assigned tasks",
    ]);
    expect(codexRunner.choosesConversationId).toBe(false);
    expect(codexRunner.reports).toBe("tokens");
  });

  test("resume: options before `resume <thread id>` (codex refuses -s after it), no persona text again", () => {
    const sb = box();
    const argv = codexArgv(turn(sb, "intern", { first: false, agentSessionId: THREAD, prompt: "New instructions" }));
    expect(argv).toEqual(["codex", "exec", "--json", "--skip-git-repo-check", "--sandbox=workspace-write", "resume", THREAD, "--", "New instructions"]);
  });

  test("--dangerously-skip-permissions bypasses the sandbox; a workspace outside the cwd is added as writable", () => {
    const sb = box();
    expect(codexArgv(turn(sb, "intern", { skipPermissions: true }))).toContain("--dangerously-bypass-approvals-and-sandbox");
    expect(codexArgv(turn(sb, "intern", { skipPermissions: true })).some((a) => a.startsWith("--sandbox"))).toBe(false);
    const inWorktree = codexArgv(turn(sb, "intern", { cwd: join(sb.root, "..", "worktree") }));
    expect(inWorktree).toContain(`--add-dir=${sb.workspace}`);
    expect(codexArgv(turn(sb, "intern"))).not.toContain(`--add-dir=${sb.workspace}`);
    // In a worktree its commits go to the repository's git dir: writable too.
    const gitDir = join(sb.root, ".git");
    expect(codexArgv(turn(sb, "intern", { cwd: join(sb.root, "..", "worktree"), gitDir }))).toContain(`--add-dir=${gitDir}`);
    expect(codexArgv(turn(sb, "intern", { gitDir, skipPermissions: true })).some((a) => a.startsWith("--add-dir"))).toBe(false);
  });

  test("permission modes map to sandboxes, safe by default", () => {
    const rows: Array<[string | undefined, string | undefined]> = [
      [undefined, undefined],
      ["acceptEdits", "workspace-write"],
      ["auto", "workspace-write"],
      ["plan", "read-only"],
      ["default", "read-only"],
      ["something-new", "read-only"],
      ["bypassPermissions", "danger-full-access"],
      ["workspace-write", "workspace-write"],
    ];
    for (const [mode, sandbox] of rows) expect({ mode, sandbox: codexSandbox(mode) }).toEqual({ mode, sandbox });
  });
});

describe("gemini argv", () => {
  test("first run: stream-json, --skip-trust, approval and tools mapped, --session-id, persona text opening a flag-safe --prompt=", () => {
    const sb = box();
    const t = turn(sb, "intern", { agentSessionId: "6f1c2a4e-1b2c-4d3e-8f90-123456789abc", model: "gemini-2.5-pro" });
    expect(geminiArgv(t)).toEqual([
      "gemini",
      "--output-format",
      "stream-json",
      "--skip-trust",
      "--model=gemini-2.5-pro",
      "--approval-mode=auto_edit",
      "--allowed-tools=write_file,replace,run_shell_command",
      "--session-id=6f1c2a4e-1b2c-4d3e-8f90-123456789abc",
      `--prompt=You are the "intern".\nSay \\ when done.\n\n\n---\n\n-x Start working on your assigned tasks`,
    ]);
    expect(geminiRunner.choosesConversationId).toBe(true);
  });

  test("resume: --resume=<same id> and only the new prompt", () => {
    const sb = box();
    const argv = geminiArgv(turn(sb, "intern", { first: false, agentSessionId: "6f1c2a4e-1b2c-4d3e-8f90-123456789abc", prompt: "New instructions" }));
    expect(argv.slice(-2)).toEqual(["--resume=6f1c2a4e-1b2c-4d3e-8f90-123456789abc", "--prompt=New instructions"]);
    expect(argv.some((a) => a.startsWith("--session-id"))).toBe(false);
  });

  test("skip-permissions is yolo with no tool list; modes and tools map", () => {
    const sb = box();
    const argv = geminiArgv(turn(sb, "intern", { skipPermissions: true, agentSessionId: "x" }));
    expect(argv).toContain("--approval-mode=yolo");
    expect(argv.some((a) => a.startsWith("--allowed-tools"))).toBe(false);
    expect([geminiApprovalMode("plan"), geminiApprovalMode("default"), geminiApprovalMode("bypassPermissions"), geminiApprovalMode(undefined)]).toEqual(["plan", "default", "yolo", undefined]);
    expect(geminiAllowedTools(["Read", "Bash(git log:*)", "Edit", "Glob"])).toEqual(["run_shell_command(git log)", "replace"]);
    expect(geminiArgv(turn(sb, "intern", { cwd: "/elsewhere", agentSessionId: "x" }))).toContain(`--include-directories=${sb.workspace}`);
  });
});

describe("codex output", () => {
  const run = (thread: string, ...events: object[]) =>
    [{ type: "thread.started", thread_id: thread }, { type: "turn.started" }, ...events].map((e) => JSON.stringify(e)).join("\n") + "\n";
  const done = (input: number, cached: number, output: number) => ({ type: "turn.completed", usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output } });

  test("tokens are summed over turns (cached input counted once), no dollars; the thread id is the conversation", () => {
    const sb = box();
    const path = logOf(sb, run(THREAD, done(1200, 200, 300)) + run(THREAD, done(800, 700, 100)));
    const s = summarizeAgentLog(path, dialectFor("codex"));
    expect(s.totals).toEqual({ costUsd: 0, inputTokens: 2000, outputTokens: 400, turns: 2 });
    expect(s.agentSessionId).toBe(THREAD);
    expect(s.finishedConversations).toEqual([THREAD]);
    expect(s.failure).toBeNull();
  });

  test("the 401 pattern (five reconnects, an error, turn.failed) is an auth failure naming codex login / CODEX_API_KEY", () => {
    const sb = box();
    const msg = "unexpected status 401 Unauthorized: Incorrect API key provided: sk-x***, url: https://api.openai.com/v1/responses";
    const events = [1, 2, 3, 4, 5].map((n) => ({ type: "error", message: `Reconnecting... ${n}/5 (${msg})` }));
    const s = summarizeAgentLog(logOf(sb, run(THREAD, ...events, { type: "error", message: msg }, { type: "turn.failed", error: { message: msg } })), dialectFor("codex"));
    expect(s.failure).toMatchObject({ kind: "auth", fatal: true });
    expect(s.authFailure).toContain("codex login");
    expect(s.authFailure).toContain("CODEX_API_KEY");
  });

  test("its real no-network output (0.171.0) is a run that has not finished: retries, no failure yet", () => {
    const s = summarizeAgentLog(join(FIXTURES, "codex-no-network.jsonl"), dialectFor("codex"));
    expect(s.runs).toBe(1);
    expect(s.lastTurnFinished).toBe(false);
    expect(s.failure).toBeNull();
    expect(s.agentSessionId).toBe("01a21d4a-298f-7483-90d2-8b4826343627");
  });

  test("logs renders messages, commands with their output, file changes, retries and tokens", () => {
    const sb = box();
    const text = run(
      THREAD,
      { type: "error", message: "Reconnecting... 2/5 (stream disconnected before completion)" },
      { type: "item.started", item: { id: "item_1", type: "command_execution", command: "bash -lc ls", status: "in_progress" } },
      { type: "item.completed", item: { id: "item_1", type: "command_execution", command: "bash -lc ls", aggregated_output: "a.ts\nb.ts\n", exit_code: 0, status: "completed" } },
      { type: "item.completed", item: { id: "item_2", type: "file_change", changes: [{ path: "src/a.ts", kind: "add" }], status: "completed" } },
      { type: "item.completed", item: { id: "item_3", type: "agent_message", text: "Added a.ts" } },
      done(1200, 200, 300),
    );
    const { entries } = readAgentLog(logOf(sb, text), dialectFor("codex"));
    const out = entries.flatMap((e) => renderEntry(e, { dialect: codexRunner }));
    expect(out).toEqual([
      `▶ run started · codex · conversation ${THREAD}`,
      "… API retry 2/5 (stream disconnected before completion)",
      "  → Bash: bash -lc ls",
      "    ← a.ts ⏎ b.ts",
      "  → Write src/a.ts",
      "  Added a.ts",
      "✔ done · 1 turn · 1.2k in / 300 out tokens",
    ]);
  });
});

describe("gemini output", () => {
  const line = (o: object) => `${JSON.stringify(o)}\n`;
  const init = (sid: string) => line({ type: "init", session_id: sid, model: "gemini-2.5-pro" });
  const stats = { total_tokens: 1000, input_tokens: 900, output_tokens: 100, cached: 400, input: 500, duration_ms: 2000, tool_calls: 1, models: {} };

  test("text streamed in pieces is one message; tools and tokens read like Claude's", () => {
    const sb = box();
    const text =
      init("s-1") +
      line({ type: "message", role: "user", content: "Start" }) +
      line({ type: "message", role: "assistant", content: "I will ", delta: true }) +
      line({ type: "message", role: "assistant", content: "look.", delta: true }) +
      line({ type: "tool_use", tool_name: "run_shell_command", tool_id: "t1", parameters: { command: "ls" } }) +
      line({ type: "tool_result", tool_id: "t1", status: "error", error: { type: "x", message: "denied" } }) +
      line({ type: "result", status: "success", stats });
    const { entries, summary } = readAgentLog(logOf(sb, text), dialectFor("gemini"));
    expect(summary.totals).toEqual({ costUsd: 0, inputTokens: 900, outputTokens: 100, turns: 1 });
    expect(summary.finishedConversations).toEqual(["s-1"]);
    expect(entries.flatMap((e) => renderEntry(e))).toEqual([
      "▶ run started · gemini · model gemini-2.5-pro · conversation s-1",
      "  » Start",
      "  I will look.",
      "  → Bash: ls",
      "    ✖ denied",
      "✔ done · 1 turn · 900 in / 100 out tokens · 2.0 s",
    ]);
  });

  test("a refused key (result status error) is an auth failure naming GEMINI_API_KEY; a killed run's text is kept", () => {
    const sb = box();
    const refused = init("s-2") + line({ type: "result", status: "error", error: { type: "unknown", message: "[API Error: API key not valid. Please pass a valid API key.]" }, stats });
    const s = summarizeAgentLog(logOf(sb, refused), dialectFor("gemini"));
    expect(s.failure).toMatchObject({ kind: "auth", fatal: true });
    expect(s.authFailure).toContain("GEMINI_API_KEY");
    expect(s.finishedConversations).toEqual([]);
    const cut = readAgentLog(logOf(sb, init("s-3") + line({ type: "message", role: "assistant", content: "half a thought", delta: true })), dialectFor("gemini"));
    expect(cut.entries.flatMap((e) => renderEntry(e)).at(-1)).toBe("  half a thought");
  });

  test("its real no-network output (0.61.0, after ten attempts) is a transient failure with nothing to resume", () => {
    const s = summarizeAgentLog(join(FIXTURES, "gemini-no-network.jsonl"), dialectFor("gemini"));
    expect(s.failure).toMatchObject({ kind: "transient", fatal: false });
    expect(s.lastTurnFinished).toBe(true);
    expect(s.agentSessionId).toBe("7f1c2a4e-1b2c-4d3e-8f90-123456789abc");
    expect(s.finishedConversations).toEqual([]);
  });

  test("no credentials is told on stderr only (exit 41): fatal, with the fix", () => {
    const failure = geminiRunner.classifyStderr!(readFileSync(join(FIXTURES, "gemini-no-auth.stderr"), "utf8"));
    expect(failure).toMatchObject({ kind: "auth", fatal: true });
    expect(failure!.reason).toContain("GEMINI_API_KEY");
    expect(geminiRunner.classifyStderr!("Error resuming session: No previous sessions found for this project.")).toMatchObject({ kind: "session", fatal: true });
    expect(geminiRunner.classifyStderr!("\x1b[31mGemini CLI is not running in a trusted directory.\x1b[0m")?.fatal).toBe(true);
    expect(geminiRunner.classifyStderr!("Warning: 256-color support not detected.")).toBeNull();
  });

  test("a log from claude runs then codex runs keeps both runs' totals", () => {
    const sb = box();
    const claude = JSON.stringify({ type: "result", subtype: "success", is_error: false, num_turns: 2, total_cost_usd: 0.5, usage: { input_tokens: 10, output_tokens: 5 } });
    const codex = [{ type: "thread.started", thread_id: THREAD }, { type: "turn.completed", usage: { input_tokens: 100, cached_input_tokens: 0, output_tokens: 50 } }].map((e) => JSON.stringify(e));
    const s = summarizeAgentLog(logOf(sb, [claude, ...codex].join("\n") + "\n"), dialectFor("codex"));
    expect(s.totals).toEqual({ costUsd: 0.5, inputTokens: 110, outputTokens: 55, turns: 3 });
  });
});

describe("login probes (nothing spent)", () => {
  test("claude: `auth status` says logged in or not; a claude without it cannot tell", async () => {
    const sb = box();
    expect(await claudeLogin({ env: sb.env })).toMatchObject({ ok: true, detail: "logged in (claude.ai)" });
    const out = await claudeLogin({ env: { ...sb.env, FAKE_CLAUDE_LOGGED_OUT: "1" } });
    expect(out).toMatchObject({ ok: false });
    expect(out!.fix).toContain("claude auth login");
    expect(await claudeLogin({ env: { ...sb.env, FAKE_CLAUDE_NO_AUTH: "1" } })).toBeUndefined();
  });

  test("codex: CODEX_API_KEY first, then `codex login status`; OPENAI_API_KEY alone is called out", async () => {
    const sb = box();
    expect(await codexLogin({ env: { ...sb.env, CODEX_API_KEY: "sk-1", FAKE_CODEX_LOGGED_OUT: "1" } })).toMatchObject({ ok: true });
    expect(await codexLogin({ env: sb.env })).toMatchObject({ ok: true, detail: "logged in (API key configured - sk-fake***)" });
    const out = await codexLogin({ env: { ...sb.env, FAKE_CODEX_LOGGED_OUT: "1", OPENAI_API_KEY: "sk-2" } });
    expect(out).toMatchObject({ ok: false });
    expect(out!.detail).toContain("OPENAI_API_KEY is set, but `codex exec` does not read it");
    expect(out!.fix).toContain("codex login");
  });

  test("gemini: env, settings.json or a .env file gemini would load; Vertex needs its project", () => {
    const sb = box();
    const home = join(sb.root, "home");
    mkdirSync(join(home, ".gemini"), { recursive: true });
    const env = { HOME: home };
    expect(geminiLoginState(env, sb.root)).toMatchObject({ ok: false });
    expect(geminiLoginState({ ...env, GEMINI_API_KEY: "k" }, sb.root)).toMatchObject({ ok: true });
    expect(geminiLoginState({ ...env, GOOGLE_GENAI_USE_VERTEXAI: "true" }, sb.root)).toMatchObject({ ok: false });
    expect(geminiLoginState({ ...env, GOOGLE_GENAI_USE_VERTEXAI: "true", GOOGLE_CLOUD_PROJECT: "p", GOOGLE_CLOUD_LOCATION: "us" }, sb.root)).toMatchObject({ ok: true });
    writeFileSync(join(sb.root, ".env"), "GEMINI_API_KEY='from-file'\n");
    expect(geminiLoginState(env, join(sb.root, "sub"))).toMatchObject({ ok: true });
    writeFileSync(join(home, ".gemini", "settings.json"), JSON.stringify({ security: { auth: { selectedType: "oauth-personal" } } }));
    expect(geminiLoginState(env, "/")).toMatchObject({ ok: false });
    writeFileSync(join(home, ".gemini", "oauth_creds.json"), "{}");
    expect(geminiLoginState(env, "/")).toMatchObject({ ok: true });
  });

  test("checkAgentLogins asks every CLI at once; requireAgentLogins refuses in one line with the fix", async () => {
    const sb = box();
    const env = { ...sb.env, HOME: join(sb.root, "home"), FAKE_CODEX_LOGGED_OUT: "1" };
    delete (env as Record<string, string | undefined>).GEMINI_API_KEY;
    const runners = ["claude", "codex", "gemini"].map(runnerFor);
    const states = await checkAgentLogins(runners, env);
    expect(states.map((s) => [s.agent, s.state?.ok])).toEqual([
      ["claude", true],
      ["codex", false],
      ["gemini", false],
    ]);
    await expect(requireAgentLogins(runners, env)).rejects.toThrow(/^codex cannot run: not logged in .*codex login/);
  });
});
