/**
 * Codex and Gemini in a real team, through the CLI: `team start --agent/--model`, persona
 * overrides, `orchestrate --agent`, the fakes in test/fixtures standing in for the real CLIs.
 * Argv on first run and resume, fresh starts, token totals, auth failures and `doctor`.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Sandbox, fakeCalls, orchestratorPool, readJsonFile, run, sandbox, sessionByName, waitFor } from "./helpers";

setDefaultTimeout(60_000);

let sb: Sandbox;
const pool = orchestratorPool();
const start = (extra: string[] = []) => pool.start(sb, extra);
afterEach(() => pool.teardown(sb));

function dirOf(name: string): string {
  const dir = sessionByName(sb.workspace, name);
  if (!dir) throw new Error(`no session named ${name}`);
  return dir;
}
const record = (name: string) => readJsonFile(join(dirOf(name), "session.json"));

/** A sandbox whose HOME is empty (no real ~/.gemini or ~/.codex leaks in). */
function agentSandbox(extra: Record<string, string> = {}): Sandbox {
  const s = sandbox("cw-agents-team-");
  s.env.HOME = mkdtempSync(join(s.root, "home-"));
  for (const k of ["GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA", "CODEX_API_KEY"]) delete s.env[k];
  Object.assign(s.env, extra);
  return s;
}

function personaOverride(s: Sandbox, persona: string, front: string): void {
  mkdirSync(join(s.workspace, "personas"), { recursive: true });
  writeFileSync(join(s.workspace, "personas", `${persona}.md`), `---\nlabel: ${persona}\ncanRequest: []\npermissionMode: acceptEdits\n${front}\n---\nYou are the ${persona} ({{sessionId}}).\n`);
}

describe("a team mixing Claude Code and Codex", () => {
  test("interns run codex (persona override), the rest claude: argv on first run and resume, tokens, team status, logs", async () => {
    sb = agentSandbox();
    personaOverride(sb, "intern", "agent: codex\nmodel: gpt-5-codex");
    sb.behave("intern.codex", `run_command "ls" "a.ts"; message "listed"; completed 1200 200 300`);
    expect((await run(sb, ["team", "start", "Build it", "--interns", "1"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "intern-1", "intern idle");
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");

    const intern = dirOf("intern-1");
    const [first] = fakeCalls(intern, "codex");
    expect(first!.argv.slice(1, 6)).toEqual(["exec", "--json", "--skip-git-repo-check", "--model=gpt-5-codex", "--sandbox=workspace-write"]);
    expect(first!.argv).not.toContain("resume");
    expect(first!.argv.at(-2)).toBe("--");
    expect(fakeCalls(intern, "claude")).toEqual([]);
    expect(fakeCalls(dirOf("manager"), "claude")).toHaveLength(1);
    expect(fakeCalls(dirOf("manager"), "codex")).toEqual([]);
    await waitFor("tokens recorded", () => record("intern-1").outputTokens === 300);
    expect(record("intern-1")).toMatchObject({ agent: "codex", model: "gpt-5-codex", costUsd: 0, inputTokens: 1200, outputTokens: 300 });
    expect(record("manager")).toMatchObject({ agent: "claude", model: "opus" });

    // Woken by `tell`: the same thread, resumed by the id codex printed, with only the news.
    const thread = JSON.parse(readFileSync(join(intern, "agent.jsonl"), "utf8").split("\n")[0]!).thread_id;
    expect((await run(sb, ["tell", "intern-1", "now the tests"])).code).toBe(0);
    await o.waitEvent((e) => e.event === "resumed" && e.name === "intern-1", "intern resumed");
    const second = await waitFor("second codex run", () => fakeCalls(intern, "codex")[1]);
    expect(second.argv.slice(second.argv.indexOf("resume"), second.argv.indexOf("resume") + 3)).toEqual(["resume", thread, "--"]);
    expect(String(second.argv.at(-1))).toContain("now the tests");
    expect(second.argv.some((a) => a.startsWith("developer_instructions="))).toBe(false);
    await waitFor("both turns counted", () => record("intern-1").outputTokens === 600);

    const status = await run(sb, ["team", "status"]);
    expect(status.stdout).toMatch(/intern-1\s+idle\s+0\/1\s+3\.0k tokens/);
    expect(status.stdout).toContain("1 session reporting tokens only");
    const json = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
    expect(json.sessions.find((r: any) => r.name === "intern-1").agent).toBe("codex");
    const logs = await run(sb, ["logs", "intern-1"]);
    expect(logs.stdout).toContain("▶ run started · codex");
    expect(logs.stdout).toContain("  → Bash: ls");
    expect(logs.stdout).toContain("✔ done · 1 turn · 1.2k in / 300 out tokens");
  });

  test("codex refused with 401 (its retries, then turn.failed): failed at once, no restart, the fix names codex login", async () => {
    sb = agentSandbox();
    sb.behave("manager.codex", "unauthorized");
    expect((await run(sb, ["team", "start", "x", "--agent", "codex"])).code).toBe(0);
    const o = start();
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "manager", "manager failed");
    expect(failed.reason).toContain("codex login");
    expect(failed.reason).toContain("CODEX_API_KEY");
    expect(o.events.filter((e) => e.event === "restarting")).toEqual([]);
    expect(fakeCalls(dirOf("manager"), "codex")).toHaveLength(1);
    expect(record("manager")).toMatchObject({ status: "failed", error: failed.reason });
  });

  test("codex that died before printing its thread id is restarted as a fresh start, never a resume of nothing", async () => {
    sb = agentSandbox();
    sb.behave("manager.codex-early", `if [ ! -f "$dir/died" ]; then touch "$dir/died"; exit 1; fi`);
    expect((await run(sb, ["team", "start", "Ship the parser", "--agent", "codex"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "restarting" && e.name === "manager", "manager restarting");
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    const [, again] = fakeCalls(dirOf("manager"), "codex");
    expect(again!.argv).not.toContain("resume");
    expect(again!.argv.some((a) => a.startsWith("developer_instructions="))).toBe(true);
    const prompt = String(again!.argv.at(-1));
    expect(prompt).toContain("fresh start");
    expect(prompt).toContain("Ship the parser");
  });
});

describe("gemini", () => {
  test("no credentials: orchestrate refuses before any agent starts, naming the fix", async () => {
    sb = agentSandbox();
    expect((await run(sb, ["team", "start", "x", "--agent", "gemini"])).code).toBe(0);
    const r = await run(sb, ["orchestrate"], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("GEMINI_API_KEY");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(fakeCalls(dirOf("manager"), "gemini")).toEqual([]);
  });

  test("a key the API rejects at run time: failed at once with the fix, no restart", async () => {
    sb = agentSandbox({ GEMINI_API_KEY: "rejected-key" });
    sb.behave("default.gemini", `api_error "[API Error: {\\"error\\":{\\"code\\":400,\\"message\\":\\"API key not valid. Please pass a valid API key.\\",\\"status\\":\\"INVALID_ARGUMENT\\"}}]" 144`);
    expect((await run(sb, ["team", "start", "x", "--agent", "gemini"])).code).toBe(0);
    const o = start();
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "manager", "manager failed");
    expect(failed.reason).toContain("GEMINI_API_KEY");
    expect(o.events.filter((e) => e.event === "restarting")).toEqual([]);
    expect(fakeCalls(dirOf("manager"), "gemini")).toHaveLength(1);
  });

  test("--session-id then --resume the same id; a failed first turn restarts fresh under a new id", async () => {
    sb = agentSandbox({ GEMINI_API_KEY: "fake-key" });
    sb.behave("manager.gemini", `if grep -q "ship it" "$dir/instructions.md"; then complete_all_tasks; fi; say "ok"; success 900 400 100`);
    sb.behave("architect.gemini", `if [ ! -f "$dir/failed-once" ]; then touch "$dir/failed-once"; api_error "[API Error: 503 Service Unavailable]" 247; fi; say "designed"; success`);
    expect((await run(sb, ["team", "start", "Design the cache", "--agent", "gemini", "--model", "gemini-2.5-flash"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    await o.waitEvent((e) => e.event === "idle" && e.name === "architect", "architect idle");

    const [a1, a2] = fakeCalls(dirOf("architect"), "gemini");
    const sid = (argv: string[], flag: string) => argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
    expect(a1!.argv).toContain("--model=gemini-2.5-flash");
    expect(sid(a2!.argv, "--session-id")).toBeDefined();
    expect(sid(a2!.argv, "--session-id")).not.toBe(sid(a1!.argv, "--session-id"));
    expect(String(a2!.argv.at(-1))).toContain("fresh start");
    expect(String(a2!.argv.at(-1))).toContain("Design the architecture");
    expect(record("architect").agentSessionId).toBe(sid(a2!.argv, "--session-id"));
    // Tokens from both runs' result lines (the failed one reported none); gemini gives no price.
    await waitFor("architect's tokens", () => record("architect").outputTokens === 100);
    expect(record("architect")).toMatchObject({ agent: "gemini", model: "gemini-2.5-flash", costUsd: 0, inputTokens: 900, outputTokens: 100, turns: 2 });

    expect((await run(sb, ["tell", "manager", "ship it"])).code).toBe(0);
    await o.waitEvent((e) => e.event === "archived" && e.name === "manager", "manager archived");
    const [m1, m2] = fakeCalls(sessionByName(sb.workspace, "manager")!, "gemini");
    expect(sid(m2!.argv, "--resume")).toBe(sid(m1!.argv, "--session-id"));
    expect(String(m2!.argv.at(-1))).toStartWith("--prompt=");
    expect(String(m2!.argv.at(-1))).toContain("ship it");
    expect(String(m2!.argv.at(-1))).not.toContain("You are the");
  });
});

describe("choosing the agent", () => {
  test("team start records --agent/--model; orchestrate --agent overrides it for the run (without the team's codex model)", async () => {
    sb = agentSandbox({ GEMINI_API_KEY: "fake-key" });
    const bad = await run(sb, ["team", "start", "x", "--agent", "aider"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("claude, codex, gemini, sim");
    expect((await run(sb, ["team", "start", "x", "--model", "-rf"])).code).toBe(2);

    const made = await run(sb, ["team", "start", "x", "--agent", "codex", "--model", "gpt-5", "--json"]);
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ agent: "codex", model: "gpt-5" });
    expect(readJsonFile(join(sb.workspace, ".team.json"))).toMatchObject({ agent: "codex", model: "gpt-5" });
    const o = start(["--agent", "gemini"]);
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    const [call] = fakeCalls(dirOf("manager"), "gemini");
    expect(call!.argv.some((a) => a.startsWith("--model"))).toBe(false);
    expect(fakeCalls(dirOf("manager"), "codex")).toEqual([]);
    expect(record("manager")).toMatchObject({ agent: "gemini", model: null });
  });

  test("a missing agent CLI is a startup error naming its install", async () => {
    sb = agentSandbox();
    expect((await run(sb, ["team", "start", "x", "--agent", "codex"])).code).toBe(0);
    const bin = mkdtempSync(join(sb.root, "bin-"));
    const r = await run({ root: sb.root, env: { ...sb.env, PATH: `${bin}:/usr/bin:/bin` } }, ["orchestrate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("`codex` is not on PATH; install it (npm install -g @openai/codex)");
  });
});

describe("doctor checks every agent CLI the team uses", () => {
  test("claude, a codex persona and a gemini team member: logged out or keyless ones fail with the fix (exit 1)", async () => {
    sb = agentSandbox({ FAKE_CODEX_LOGGED_OUT: "1" });
    personaOverride(sb, "intern", "agent: codex");
    personaOverride(sb, "software-engineer", "agent: gemini");
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    const r = await run(sb, ["doctor", "--json"]);
    expect(r.code).toBe(1);
    const checks = Object.fromEntries(JSON.parse(r.stdout).checks.map((c: any) => [c.id, c]));
    expect(checks.claude).toMatchObject({ status: "ok" });
    expect(checks.claude.detail).toContain("logged in (claude.ai)");
    expect(checks.codex).toMatchObject({ status: "fail" });
    expect(checks.codex.detail).toContain("codex-cli 0.171.0");
    expect(checks.codex.fix).toContain("codex login");
    expect(checks.gemini).toMatchObject({ status: "fail" });
    expect(checks.gemini.detail).toContain("0.61.0");
    expect(checks.gemini.fix).toContain("GEMINI_API_KEY");

    const human = await run({ root: sb.root, env: { ...sb.env, FAKE_CODEX_LOGGED_OUT: "", GEMINI_API_KEY: "k", FAKE_CLAUDE_LOGGED_OUT: "1" } }, ["doctor"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/✖ claude .*not logged in/);
    expect(human.stdout).toContain("fix: run `claude auth login`");
    expect(human.stdout).toMatch(/✔ codex .*logged in/);
    expect(human.stdout).toMatch(/✔ gemini .*GEMINI_API_KEY is set/);
  });
});
