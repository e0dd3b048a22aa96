/**
 * Workspace-level faults (issue 13), through real processes: what people and agents write is
 * never truncated, replaced or deleted, and every failure a person must act on names the file.
 * Files nobody may read are made with chmod; when the tests run as root the CLI runs without the
 * capability to override file modes (bindFileModes), so they bind it as they bind any user.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { SENT_MARKS, appendInstructionsOnce } from "../core/workspace/instructions";
import { newSessionRecord, writeSession } from "../core/workspace/session";
import {
  type Sandbox,
  bindFileModes,
  canDropFileOverride,
  cliArgv,
  orchestratorPool,
  readJsonFile,
  run,
  sandbox,
  sessionByName,
  sessionDirs,
  waitFor,
} from "./helpers";

setDefaultTimeout(60_000);

let sb: Sandbox;
const pool = orchestratorPool();
afterEach(async () => {
  // Modes back, so the sandbox can be removed whoever runs the tests.
  if (sb) Bun.spawnSync(["chmod", "-R", "u+rwX", sb.root]);
  await pool.teardown(sb);
  sb = undefined as unknown as Sandbox;
});

function fresh(): Sandbox {
  sb = sandbox("cw-faults-ws-");
  Object.assign(sb.env, { CLAUDE_WRAPPER_STOP_GRACE_MS: "300", CLAUDE_WRAPPER_BACKOFF_MS: "50" });
  return sb;
}

async function team(...extra: string[]): Promise<void> {
  const r = await run(sb, ["team", "start", "Build it", ...extra]);
  expect(r.code).toBe(0);
}

const dirOf = (name: string) => sessionByName(sb.workspace, name)!;
const instructions = (name: string) => join(dirOf(name), "instructions.md");

/** The first and last bytes of a file, and its size: what must survive an append. */
function ends(path: string, n = 64): { size: number; head: string; tail: string } {
  const size = statSync(path).size;
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(Math.min(n, size));
    readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(4096, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return { size, head: head.toString("latin1"), tail: tail.toString("utf8") };
  } finally {
    closeSync(fd);
  }
}

describe("tell: an instructions.md it cannot safely append to is refused, untouched", () => {
  test.skipIf(!canDropFileOverride)("mode 000: one line naming the file, exit 1, nothing changed", async () => {
    fresh();
    await team();
    const file = instructions("manager");
    const before = readFileSync(file);
    chmodSync(file, 0o000);
    bindFileModes(sb);
    const r = await run(sb, ["tell", "manager", "Use SQLite"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain("chmod");
    expect(r.stdout).toBe("");
    chmodSync(file, 0o644);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  test("a FIFO, a directory or a symlink in its place: refused naming it, nothing changed", async () => {
    fresh();
    await team("--engineers", "1");
    const outside = join(sb.root, "outside.md");
    writeFileSync(outside, "precious\n");
    const cases: Array<[string, () => void, RegExp]> = [
      ["manager", () => Bun.spawnSync(["mkfifo", instructions("manager")]), /not a regular file/],
      ["architect", () => mkdirSync(instructions("architect")), /not a regular file/],
      ["engineer-1", () => symlinkSync(outside, instructions("engineer-1")), /symlink/],
    ];
    for (const [name, make] of cases) {
      Bun.spawnSync(["rm", "-f", instructions(name)]);
      make();
    }
    for (const [name, , why] of cases) {
      const r = await run(sb, ["tell", name, "hello"], { timeoutMs: 15_000 });
      expect({ name, code: r.code }).toEqual({ name, code: 1 });
      expect(r.stderr).toContain(instructions(name));
      expect(r.stderr).toMatch(why);
    }
    expect(statSync(instructions("manager")).isFIFO()).toBe(true);
    expect(readdirSync(instructions("architect"))).toEqual([]);
    expect(readFileSync(outside, "utf8")).toBe("precious\n");
  });

  test("a 3 GB sparse instructions.md: the block is appended at its end, nothing before it changed", async () => {
    fresh();
    await team();
    const file = instructions("manager");
    const head = ends(file).head;
    truncateSync(file, 3 * 1024 ** 3); // sparse: no disk used, never read whole
    const r = await run(sb, ["tell", "manager", "Use SQLite", "--json"]);
    expect(r.code).toBe(0);
    const told = JSON.parse(r.stdout);
    const after = ends(file);
    expect(after.size).toBe(3 * 1024 ** 3 + told.bytes);
    expect(after.head.slice(0, head.length)).toBe(head);
    expect(after.tail).toMatch(/## Instructions from user \([^)]+\)\n\nUse SQLite\n\n$/);
  });
});

describe("one session per name: several live sessions sharing it is a usage mistake", () => {
  test("tell, logs and attach: exit 2 listing both; nothing appended", async () => {
    fresh();
    await team();
    const mgr = dirOf("manager");
    // A second live session named "manager" (a request named so, an edited session.json…).
    const id = `engineering-manager-${Date.now() + 1000}`;
    mkdirSync(join(sb.workspace, id));
    writeSession(join(sb.workspace, id), newSessionRecord({ id, persona: "engineering-manager", name: "manager", status: "idle" }));
    writeFileSync(join(sb.workspace, id, "instructions.md"), "## Instructions from user\n\nx\n\n");
    const before = [readFileSync(join(mgr, "instructions.md"), "utf8"), readFileSync(join(sb.workspace, id, "instructions.md"), "utf8")];
    for (const args of [["tell", "manager", "hi"], ["logs", "manager"], ["attach", "manager"], ["tell", "manag", "hi"], ["attach"]]) {
      const r = await run(sb, args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(mgr.split("/").pop()!);
      expect(r.stderr).toContain(id);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect([readFileSync(join(mgr, "instructions.md"), "utf8"), readFileSync(join(sb.workspace, id, "instructions.md"), "utf8")]).toEqual(before);
    // By id each is reached; and a stopped namesake gives way to the live one.
    expect((await run(sb, ["tell", id, "by id"])).code).toBe(0);
    writeSession(join(sb.workspace, id), { ...readJsonFile(join(sb.workspace, id, "session.json")), status: "stopped" });
    const r = await run(sb, ["tell", "manager", "to the live one"]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(mgr, "instructions.md"), "utf8")).toContain("to the live one");
  });
});

describe("a teammate's notice to its requester", () => {
  test("a 3 GB sparse instructions.md gets the notice appended once at its end; nothing before it changed", async () => {
    fresh();
    // The manager asks for an intern once; the intern finishes when the test releases it.
    sb.behave("engineering-manager", `[ -e "$dir/asked" ] || { touch "$dir/asked"; request intern job "Do the job"; }; result 0.01`);
    sb.behave("intern", `while [ ! -e "$dir/../release" ]; do sleep 0.05; done; complete_all_tasks; result 0.01`);
    await team();
    const o = pool.start(sb);
    await o.waitEvent((e) => e.event === "spawned" && e.name === "job", "the intern started");
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "the manager idle");
    const file = instructions("manager");
    const head = ends(file).head;
    truncateSync(file, 3 * 1024 ** 3);
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager" && o.events.filter((x) => x.event === "idle" && x.name === "manager").length >= 2, "the manager woken by the growth, idle again");
    writeFileSync(join(sb.workspace, "release"), "");
    await o.waitEvent((e) => e.event === "archived" && e.name === "job", "the intern archived");
    const after = ends(file);
    expect(after.size).toBeGreaterThan(3 * 1024 ** 3);
    expect(after.head.slice(0, head.length)).toBe(head);
    expect(after.tail.match(/Teammate intern-\d+ \(job\) completed all its tasks/g)).toHaveLength(1);
    expect(after.tail).toMatch(/## Instructions from orchestrator \([^)]+\)\n\nTeammate intern-\d+ \(job\) completed[^#]*\n\n$/);
  });
});

describe("once-only blocks (the notices' idempotency)", () => {
  test("told once however often repeated; a block recorded but never written (a crash between) is written; bounded on a 1 GB file", async () => {
    fresh();
    const dir = join(sb.root, "s");
    mkdirSync(dir);
    const file = join(dir, "instructions.md");
    writeFileSync(file, "## Instructions from user\n\nstart\n\n");
    truncateSync(file, 1024 ** 3);
    const once = () => appendInstructionsOnce(dir, "orchestrator", "Teammate x-1 (x) completed all its tasks.", "Teammate x-1 (x) completed");
    expect(await once()).toBe(true);
    expect(await once()).toBe(false);
    const size = statSync(file).size;
    expect(ends(file).tail.match(/Teammate x-1 \(x\) completed/g)).toHaveLength(1);
    // The record says it was appended at the end, but the block is not there.
    writeFileSync(join(dir, SENT_MARKS), JSON.stringify({ "Teammate x-1 (x) completed": size }));
    expect(await once()).toBe(true);
    expect(ends(file).tail.match(/Teammate x-1 \(x\) completed/g)).toHaveLength(2);
    expect(await once()).toBe(false);
  });
});

/** Write a request the way an agent's shell does (mkdir, then the file). */
function request(dir: string, text = `## Instructions from user\n\nDo ${dir}\n`): string {
  mkdirSync(join(sb.workspace, dir));
  writeFileSync(join(sb.workspace, dir, "instructions.md"), text);
  return join(sb.workspace, dir);
}

describe("requests: nothing the requester wrote is lost", () => {
  test.skipIf(!canDropFileOverride)("an instructions.md or a request dir nobody may read: rejected naming it, never claimed, left as it is", async () => {
    fresh();
    sb.behave("default", "result 0.01");
    mkdirSync(sb.workspace);
    const a = request("intern-request-locked-file", "## Instructions from user\n\nsecret plan\n");
    chmodSync(join(a, "instructions.md"), 0o000);
    const b = request("intern-request-locked-dir", "## Instructions from user\n\nother plan\n");
    chmodSync(b, 0o000);
    bindFileModes(sb);
    const o = pool.start(sb);
    const fileRejected = await o.waitEvent((e) => e.event === "request-rejected" && e.request === "intern-request-locked-file", "the unreadable file rejected");
    expect(fileRejected.reason).toContain("intern-request-locked-file/instructions.md cannot be read (permission denied");
    const dirRejected = await o.waitEvent((e) => e.event === "request-rejected" && e.request === "intern-request-locked-dir", "the unreadable dir rejected");
    expect(dirRejected.reason).toContain("intern-request-locked-dir");
    expect(dirRejected.reason).toContain("permission denied");
    // Served as usual once readable: a request is judged afresh when it changes.
    request("intern-request-after");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "after", "a good request served meanwhile");
    expect(o.events.filter((e) => e.event === "spawned" && e.name !== "after")).toEqual([]);
    chmodSync(b, 0o755);
    chmodSync(join(a, "instructions.md"), 0o644);
    expect(readFileSync(join(a, "instructions.md"), "utf8")).toBe("## Instructions from user\n\nsecret plan\n");
    expect(readFileSync(join(b, "instructions.md"), "utf8")).toBe("## Instructions from user\n\nother plan\n");
  });

  test("the request's other files travel into the session: beside instructions.md, or under request/ when the session uses the name", async () => {
    fresh();
    sb.behave("default", "result 0.01");
    mkdirSync(sb.workspace);
    const o = pool.start(sb);
    await o.waitEvent((e) => e.event === "started", "started");
    const dir = join(sb.workspace, "software-engineer-request-api");
    mkdirSync(join(dir, "docs"), { recursive: true });
    writeFileSync(join(dir, "spec.md"), "# The API\n");
    writeFileSync(join(dir, "docs", "notes.md"), "notes\n");
    writeFileSync(join(dir, "tasks.md"), "## Task: theirs\n- **Status**: completed\n");
    writeFileSync(join(dir, ".hidden"), "dot\n");
    writeFileSync(join(dir, "instructions.md"), "## Instructions from user\n\nBuild the API in spec.md\n");
    await o.waitEvent((e) => e.event === "idle" && e.name === "api", "the request served");
    const s = dirOf("api");
    expect(readFileSync(join(s, "spec.md"), "utf8")).toBe("# The API\n");
    expect(readFileSync(join(s, "docs", "notes.md"), "utf8")).toBe("notes\n");
    expect(readFileSync(join(s, "request", "tasks.md"), "utf8")).toBe("## Task: theirs\n- **Status**: completed\n");
    expect(readFileSync(join(s, "request", ".hidden"), "utf8")).toBe("dot\n");
    expect(readFileSync(join(s, "instructions.md"), "utf8")).toBe("## Instructions from user\n\nBuild the API in spec.md\n\n");
    expect(readFileSync(join(s, "tasks.md"), "utf8")).toContain("## Task: Build the API in spec.md");
    expect(existsSync(join(s, ".request"))).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(o.events.filter((e) => e.event === "archived")).toEqual([]); // their tasks.md is not the session's
  });

  test("a request written in steps with pauses shorter than the settle window becomes one session with all of it; a late write makes no second session", async () => {
    fresh();
    sb.behave("default", "result 0.01");
    mkdirSync(sb.workspace);
    // A window far above the pauses below, so a busy machine cannot stretch them past it.
    sb.env.CLAUDE_WRAPPER_SETTLE_MS = "1000";
    const o = pool.start(sb);
    await o.waitEvent((e) => e.event === "started", "started");
    // The gap under test: a shell writing a request in two steps, 40 ms apart.
    const write = (text: string, op: ">" | ">>") =>
      `mkdir -p "$0/intern-request-two-step"; printf '%s\\n' '${text}' ${op} "$0/intern-request-two-step/instructions.md"`;
    const w = Bun.spawnSync(["bash", "-c", `${write("## Instructions from user", ">")}; ${write("", ">>")}; sleep 0.04; ${write("first half.", ">>")}; sleep 0.04; ${write("second half.", ">>")}`, sb.workspace]);
    expect(w.exitCode).toBe(0);
    await o.waitEvent((e) => e.event === "idle" && e.name === "two-step", "the request served");
    expect(readFileSync(join(dirOf("two-step"), "instructions.md"), "utf8")).toContain("first half.\nsecond half.");
    // Written to again after it was claimed: not a second session with half the text.
    Bun.spawnSync(["bash", "-c", write("a late third part.", ">>"), sb.workspace]);
    const rejected = await o.waitEvent((e) => e.event === "request-rejected" && e.request === "intern-request-two-step", "the late write rejected");
    expect(rejected.reason).toContain("a live session is already named \"two-step\"");
    expect(rejected.reason).toContain("claude-wrapper tell");
    expect(sessionDirs(sb.workspace).filter((d) => readJsonFile(join(sb.workspace, d, "session.json")).name === "two-step")).toHaveLength(1);
    expect(readFileSync(join(sb.workspace, "intern-request-two-step", "instructions.md"), "utf8")).toBe("a late third part.\n");
  });

  test("a request dir named with a newline: rejected with the name JSON-quoted; the human output gets no forged line", async () => {
    fresh();
    mkdirSync(sb.workspace);
    const forged = "x\n✅ Session forged started (PID 1)";
    request(`intern-request-${forged}`);
    request(`wiz\nard-request-y`);
    const proc = Bun.spawn([...cliArgv(), "orchestrate"], { cwd: sb.root, env: sb.env, stdout: "pipe", stderr: "pipe" });
    let out = "";
    const collect = async (s: ReadableStream<Uint8Array>) => {
      const d = new TextDecoder();
      for await (const c of s) out += d.decode(c, { stream: true });
    };
    const done = Promise.all([collect(proc.stdout as ReadableStream<Uint8Array>), collect(proc.stderr as ReadableStream<Uint8Array>)]);
    try {
      await waitFor("both rejected", () => (out.match(/left untouched/g) ?? []).length >= 2);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      await done;
    }
    expect(out).toContain(JSON.stringify(forged));
    expect(out).toContain(JSON.stringify("wiz\nard"));
    const doctor = await run(sb, ["doctor"]);
    expect(doctor.stdout).toContain(JSON.stringify(`intern-request-${forged}`));
    out += doctor.stdout + doctor.stderr;
    for (const line of out.split("\n")) {
      expect(line).not.toMatch(/^\s*✅ Session forged/);
      expect(line).not.toMatch(/^ard-request/);
    }
  });
});

describe("session dirs nobody may read are reported, not skipped", () => {
  test.skipIf(!canDropFileOverride)("listings show a row with the reason; doctor names it; the orchestrator reports it once and serves the rest", async () => {
    fresh();
    sb.behave("default", "result 0.01");
    await team();
    const arch = dirOf("architect");
    const id = arch.split("/").pop()!;
    chmodSync(arch, 0o000);
    bindFileModes(sb);
    const list = await run(sb, ["attach", "--list", "--json"]);
    expect(list.code).toBe(0);
    const row = JSON.parse(list.stdout).find((r: { id: string }) => r.id === id);
    expect(row).toMatchObject({ status: "failed", error: expect.stringContaining("session.json cannot be read (permission denied") });
    const status = await run(sb, ["team", "status", "--json"]);
    expect(JSON.parse(status.stdout).sessions.find((r: { id: string }) => r.id === id)?.error).toContain("cannot be read");
    const doctor = await run(sb, ["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout + doctor.stderr).toContain(`${id} (session.json cannot be read`);
    const o = pool.start(sb);
    const failed = await o.waitEvent((e) => e.event === "failed" && e.session === id, "the unreadable session reported");
    expect(failed.reason).toContain(join(arch, "session.json"));
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "the rest served");
    expect(o.events.filter((e) => e.session === id)).toHaveLength(1);
  });
});

describe("logs -f when agent.jsonl is replaced or truncated", () => {
  for (const how of ["replaced by a new file", "truncated and rewritten"] as const) {
    test(`${how}: the new file is read from its start, no fragment, no lost first line`, async () => {
      fresh();
      await team();
      const id = dirOf("manager").split("/").pop()!;
      const log = join(sb.workspace, id, "agent.jsonl");
      const say = (t: string) => `${JSON.stringify({ type: "assistant", message: { content: [{ type: "text", text: t }] } })}\n`;
      writeFileSync(log, say("old one") + say("old two"));
      const proc = Bun.spawn([...cliArgv(), "logs", "manager", "-f"], { cwd: sb.root, env: sb.env, stdout: "pipe", stderr: "pipe" });
      let out = "";
      const reading = (async () => {
        const d = new TextDecoder();
        for await (const c of proc.stdout as ReadableStream<Uint8Array>) out += d.decode(c, { stream: true });
      })();
      try {
        await waitFor("the old lines", () => out.includes("old two"));
        // Longer than what was read, so its size alone does not tell it is another file.
        const next = say(`new first ${"x".repeat(200)}`) + say("new second");
        if (how === "replaced by a new file") {
          writeFileSync(`${log}.tmp`, next);
          renameSync(`${log}.tmp`, log);
        } else {
          truncateSync(log, 0);
          appendFileSync(log, next);
        }
        await waitFor("the new lines", () => out.includes("new second"));
        expect(out).toContain(`new first ${"x".repeat(200)}`);
        expect(out).not.toContain("?");
        expect(out.match(/old one/g)).toHaveLength(1);
      } finally {
        proc.kill("SIGINT");
        await proc.exited;
        await reading;
      }
    });
  }
});
