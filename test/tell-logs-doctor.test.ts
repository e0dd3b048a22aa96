/**
 * `tell`, `logs` and `doctor` through the CLI entry, as real processes in real temp dirs, with
 * the fake claude (test/fixtures/claude) first on PATH.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSession, writeSession } from "../core/workspace/session";
import { archiveDirName } from "../core/workspace/paths";
import { FIXTURES, type Sandbox, cliArgv, run, sessionDirs, waitFor, sandboxes } from "./helpers";

const box = sandboxes("cw-tld-");
afterEach(box.cleanup);

async function team(sb: Sandbox, ...extra: string[]): Promise<void> {
  const r = await run(sb, ["team", "start", "Build a tiny todo app", ...extra]);
  expect(r.code).toBe(0);
}
const idOf = (sb: Sandbox, persona: string) => sessionDirs(sb.workspace, persona)[0]!;
const instructionsOf = (sb: Sandbox, id: string) => readFileSync(join(sb.workspace, id, "instructions.md"), "utf8");
const HEADER = /^## Instructions from user \(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\)$/;

describe("tell", () => {
  test("appends a user block to the named session's instructions.md and says so", async () => {
    const sb = box();
    await team(sb);
    const id = idOf(sb, "engineering-manager");
    const before = instructionsOf(sb, id);

    const r = await run(sb, ["tell", "manager", "Use SQLite, not Postgres."]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`manager (${id})`);

    const after = instructionsOf(sb, id);
    expect(after.startsWith(before)).toBe(true);
    const added = after.slice(before.length).split("\n");
    expect(added[0]).toMatch(HEADER);
    expect(added.slice(1).join("\n").trim()).toBe("Use SQLite, not Postgres.");
  });

  test("finds a session by exact id and by unique prefix; words after the session are one message", async () => {
    const sb = box();
    await team(sb, "--engineers", "2");
    const eng1 = idOf(sb, "software-engineer");
    expect((await run(sb, ["tell", eng1, "by id"])).code).toBe(0);
    expect((await run(sb, ["tell", "arch", "by", "prefix"])).code).toBe(0);
    expect(instructionsOf(sb, eng1)).toContain("\n\nby id\n");
    expect(instructionsOf(sb, idOf(sb, "solutions-architect"))).toContain("\n\nby prefix\n");
  });

  test("unknown → exit 3 with the closest names; ambiguous → exit 2 listing them; empty → exit 2", async () => {
    const sb = box();
    await team(sb, "--engineers", "2");
    const snapshot = () => sessionDirs(sb.workspace).map((id) => instructionsOf(sb, id)).join("\0");
    const before = snapshot();

    const unknown = await run(sb, ["tell", "mangaer", "hi"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("manager");

    const ambiguous = await run(sb, ["tell", "engineer-", "hi"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("engineer-1");
    expect(ambiguous.stderr).toContain("engineer-2");

    const empty = await run(sb, ["tell", "manager", "   "]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("empty");

    expect(snapshot()).toBe(before);
  });

  test("an archived session is refused with a clear line and left untouched", async () => {
    const sb = box();
    await team(sb);
    const id = idOf(sb, "solutions-architect");
    const dir = join(sb.workspace, id);
    writeSession(dir, { ...readSession(dir, id, "solutions-architect")!, status: "completed" });
    renameSync(dir, join(sb.workspace, archiveDirName(id)));
    const before = readFileSync(join(sb.workspace, archiveDirName(id), "instructions.md"), "utf8");

    const r = await run(sb, ["tell", id, "one more thing"]);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("archived");
    expect(readFileSync(join(sb.workspace, archiveDirName(id), "instructions.md"), "utf8")).toBe(before);
  });

  test("ten concurrent tells from ten processes all land, each block whole", async () => {
    const sb = box();
    await team(sb);
    const id = idOf(sb, "engineering-manager");
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => run(sb, ["tell", "manager", `message number ${i} ${"x".repeat(200)}`])));
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });

    const text = instructionsOf(sb, id);
    const blocks = text.split(/^(?=## Instructions from )/m);
    expect(blocks).toHaveLength(11);
    for (let i = 0; i < 10; i++) {
      const mine = blocks.filter((b) => b.includes(`message number ${i} `));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.split("\n")[0]).toMatch(HEADER);
      expect(mine[0]!.trim().endsWith("x".repeat(200))).toBe(true);
    }
  });
});

/** A recorded stream: a sim turn, then claude's real not-logged-in run, then a broken line. */
function recordedStream(): string {
  const sim = [
    { type: "system", subtype: "init", session_id: "abc", model: "sim", permissionMode: "default" },
    { type: "assistant", message: { role: "assistant", content: [{ type: "text", text: "I'll ask a software engineer to build it." }] } },
    { type: "assistant", message: { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Bash", input: { command: "mkdir -p .database/software-engineer-request-impl" } }] } },
    { type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "line one\nline two\nline three\nline four\nline five" }] } },
    { type: "assistant", message: { role: "assistant", content: [{ type: "tool_use", id: "t2", name: "Read", input: { file_path: "/nope/missing.txt" } }] } },
    { type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t2", content: "File does not exist.", is_error: true }] } },
    { type: "result", subtype: "success", is_error: false, num_turns: 3, duration_ms: 2500, result: "ok", total_cost_usd: 0.0123, usage: {} },
  ]
    .map((v) => JSON.stringify(v))
    .join("\n");
  return `${sim}\n${readFileSync(join(FIXTURES, "claude-not-logged-in.jsonl"), "utf8")}this is not json\n`;
}

describe("logs", () => {
  test("renders what the agent said, its tool calls and results, each run's end, and errors", async () => {
    const sb = box();
    await team(sb);
    const id = idOf(sb, "engineering-manager");
    writeFileSync(join(sb.workspace, id, "agent.jsonl"), recordedStream());

    const r = await run(sb, ["logs", "manager"]);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain("▶ run started · model sim");
    expect(out).toContain("I'll ask a software engineer to build it.");
    expect(out).toContain("→ Bash: mkdir -p .database/software-engineer-request-impl");
    expect(out).toContain("← line one ⏎ line two ⏎ line three … (2 more lines)");
    expect(out).toContain("→ Read /nope/missing.txt");
    expect(out).toContain("✖ File does not exist.");
    expect(out).toContain("✔ done · 3 turns · $0.0123 · 2.5 s");
    expect(out).toContain("✖ authentication_failed: Not logged in · Please run /login");
    expect(out).toMatch(/✖ failed \(success\) .*Not logged in/);
    expect(out).toContain("fix: claude is not logged in: run `claude` and /login, or set ANTHROPIC_API_KEY");
    expect(out).toContain("? this is not json");
    // The order is the log's order.
    expect(out.indexOf("✔ done")).toBeLessThan(out.indexOf("authentication_failed"));
  });

  test("--json passes the JSON lines through unchanged", async () => {
    const sb = box();
    await team(sb);
    const id = idOf(sb, "engineering-manager");
    const stream = recordedStream();
    writeFileSync(join(sb.workspace, id, "agent.jsonl"), stream);
    const r = await run(sb, ["logs", id, "--json"]);
    expect(r.code).toBe(0);
    const expected = stream.split("\n").filter((l) => l.startsWith("{"));
    expect(r.stdout.trimEnd().split("\n")).toEqual(expected);
  });

  test("an archived session's log is found by id and by name", async () => {
    const sb = box();
    await team(sb);
    const id = idOf(sb, "solutions-architect");
    writeFileSync(join(sb.workspace, id, "agent.jsonl"), recordedStream());
    renameSync(join(sb.workspace, id), join(sb.workspace, archiveDirName(id)));
    for (const q of [id, archiveDirName(id), "architect"]) {
      const r = await run(sb, ["logs", q]);
      expect({ q, code: r.code }).toEqual({ q, code: 0 });
      expect(r.stdout).toContain("✔ done · 3 turns");
    }
  });

  for (const how of ["completed, then archived", "archived at once"] as const) {
    test(`-f prints lines as they are appended and exits when the session is ${how}`, async () => {
      const sb = box();
      await team(sb);
      const id = idOf(sb, "engineering-manager");
      const log = join(sb.workspace, id, "agent.jsonl");
      writeFileSync(log, `${JSON.stringify({ type: "system", subtype: "init", session_id: "abc", model: "sim" })}\n`);

      const proc = Bun.spawn([...cliArgv(), "logs", "manager", "-f"], { cwd: sb.root, env: sb.env, stdout: "pipe", stderr: "pipe" });
      let out = "";
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += decoder.decode(chunk, { stream: true });
      })();
      const stderr = new Response(proc.stderr).text();
      try {
        await waitFor("the existing line", () => out.includes("▶ run started"));
        const say = (t: string) => JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: t }] } });
        appendFileSync(log, `${say("first live line")}\n`);
        await waitFor("the first appended line", () => out.includes("first live line"));
        // Half a line is not shown until the rest arrives.
        const second = say("second live line");
        appendFileSync(log, second.slice(0, 25));
        appendFileSync(log, `${second.slice(25)}\n`);
        await waitFor("the second appended line", () => out.includes("second live line"));

        // The last line lands just before the orchestrator completes and archives the session.
        appendFileSync(log, `${JSON.stringify({ type: "result", subtype: "success", is_error: false, num_turns: 2, total_cost_usd: 0.5, usage: {} })}\n`);
        const dir = join(sb.workspace, id);
        if (how === "completed, then archived") writeSession(dir, { ...readSession(dir, id, "engineering-manager")!, status: "completed" });
        renameSync(dir, join(sb.workspace, archiveDirName(id)));
        const code = await proc.exited;
        await reading;
        expect(code).toBe(0);
        expect(out).toContain("✔ done · 2 turns · $0.5000");
        expect(out.match(/second live line/g)).toHaveLength(1);
        expect(await stderr).toContain("stopped following");
      } finally {
        proc.kill();
      }
    });
  }

  test("-f stops on Ctrl-C", async () => {
    const sb = box();
    await team(sb);
    const proc = Bun.spawn([...cliArgv(), "logs", "architect", "-f"], { cwd: sb.root, env: sb.env, stdout: "pipe", stderr: "pipe" });
    let err = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) err += decoder.decode(chunk, { stream: true });
    })();
    await waitFor("the waiting note", () => err.includes("no agent output yet"));
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    await reading;
  });

  test("an unknown session is exit 3", async () => {
    const sb = box();
    await team(sb);
    const r = await run(sb, ["logs", "nobody-here"]);
    expect(r.code).toBe(3);
  });
});

describe("doctor", () => {
  function doctorEnv(sb: Sandbox, extra: Record<string, string | undefined> = {}): Sandbox["env"] {
    const home = mkdtempSync(join(sb.root, "home-"));
    const env: Record<string, string> = { ...sb.env, HOME: home };
    delete env.ANTHROPIC_API_KEY;
    delete env.ANTHROPIC_AUTH_TOKEN;
    delete env.CLAUDE_CODE_OAUTH_TOKEN;
    delete env.CLAUDE_CONFIG_DIR;
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return env;
  }
  const check = (report: any, id: string) => report.checks.find((c: any) => c.id === id);

  test("healthy workspace with the fake claude on PATH: exit 0, claude's version, logged in per `claude auth status`", async () => {
    const sb = box();
    await team(sb);
    const r = await run({ root: sb.root, env: doctorEnv(sb) }, ["doctor", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(check(report, "claude")).toMatchObject({ status: "ok" });
    expect(check(report, "claude").detail).toContain("2.1.197 (Claude Code)");
    expect(check(report, "claude").detail).toContain(join(FIXTURES, "claude"));
    expect(check(report, "claude").detail).toContain("logged in (claude.ai)");
    expect(["ok", "warn"]).toContain(check(report, "inotify").status);
    expect(check(report, "inotify").detail).toContain("max_user_watches");
    for (const id of ["workspace", "sessions", "requests", "orchestrator", "personas"]) expect({ id, status: check(report, id).status }).toEqual({ id, status: "ok" });
    // The fake claude recorded no turn for --version.
    expect(readdirSync(sb.root).filter((f) => f.includes("fake-claude"))).toEqual([".fake-claude"]);
  });

  test("a claude without `auth status`: an API key or a stored login is reported as such (never verified), else unknown", async () => {
    const sb = box();
    await team(sb);
    const old = { FAKE_CLAUDE_NO_AUTH: "1" };
    const withKey = JSON.parse((await run({ root: sb.root, env: doctorEnv(sb, { ...old, ANTHROPIC_API_KEY: "sk-test" }) }, ["doctor", "--json"])).stdout);
    expect(check(withKey, "claude")).toMatchObject({ status: "ok" });
    expect(check(withKey, "claude").detail).toContain("ANTHROPIC_API_KEY");
    expect(JSON.stringify(withKey)).not.toContain("sk-test");

    const env = doctorEnv(sb, old);
    const none = JSON.parse((await run({ root: sb.root, env }, ["doctor", "--json"])).stdout);
    expect(check(none, "claude")).toMatchObject({ status: "unknown" });
    mkdirSync(join(env.HOME!, ".claude"));
    writeFileSync(join(env.HOME!, ".claude", ".credentials.json"), "{}");
    const stored = JSON.parse((await run({ root: sb.root, env }, ["doctor", "--json"])).stdout);
    expect(check(stored, "claude")).toMatchObject({ status: "ok" });
    expect(check(stored, "claude").detail).toContain(".credentials.json");
  });

  test("no claude on PATH, a corrupt session.json and a broken persona override fail: exit 1", async () => {
    const sb = box();
    await team(sb);
    const emptyBin = mkdtempSync(join(sb.root, "bin-"));
    const id = idOf(sb, "solutions-architect");
    writeFileSync(join(sb.workspace, id, "session.json"), "{ not json");
    mkdirSync(join(sb.workspace, "personas"));
    writeFileSync(join(sb.workspace, "personas", "intern.md"), "---\nlabel: intern\n  : what is this\n---\nbody\n");

    const r = await run({ root: sb.root, env: doctorEnv(sb, { PATH: emptyBin }) }, ["doctor", "--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(check(report, "claude").status).toBe("fail");
    expect(check(report, "sessions").status).toBe("fail");
    expect(check(report, "sessions").detail).toContain(id);
    expect(check(report, "personas").status).toBe("fail");
    expect(check(report, "personas").detail).toContain("intern.md");

    const human = await run({ root: sb.root, env: doctorEnv(sb, { PATH: emptyBin }) }, ["doctor"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("✖ claude");
    expect(human.stdout).toContain("fix: install it (`npm install -g @anthropic-ai/claude-code`)");
    expect(human.stdout).toContain("3 checks failed");
  });

  test("a stale .orchestrator.json and waiting requests are warnings, not failures", async () => {
    const sb = box();
    await team(sb);
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    writeFileSync(join(sb.workspace, ".orchestrator.json"), JSON.stringify({ pid: dead.pid, startTime: "1", startedAt: "2020-01-01T00:00:00Z", version: "0" }));
    mkdirSync(join(sb.workspace, "intern-request-docs"));
    writeFileSync(join(sb.workspace, "intern-request-docs", "instructions.md"), "## Instructions from user\n\nWrite docs\n");

    const r = await run({ root: sb.root, env: doctorEnv(sb) }, ["doctor", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(check(report, "orchestrator")).toMatchObject({ status: "warn" });
    expect(check(report, "orchestrator").detail).toContain(String(dead.pid));
    expect(check(report, "requests")).toMatchObject({ status: "warn" });
    expect(check(report, "requests").detail).toContain("intern-request-docs");
  });

  test("no workspace yet is a warning; --agents must be a number", async () => {
    const sb = box();
    const r = await run({ root: sb.root, env: doctorEnv(sb) }, ["doctor", "--json", "--agents", "8"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.plannedAgents).toBe(8);
    expect(check(report, "workspace").status).toBe("warn");
    const bad = await run({ root: sb.root, env: doctorEnv(sb) }, ["doctor", "--agents", "many"]);
    expect(bad.code).toBe(2);
  });
});
