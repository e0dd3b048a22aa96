/**
 * Harness for attach / track / team status / team stop: a team laid out by `team start`, agents
 * left running the way a crashed orchestrator leaves them, and a stand-in orchestrator.
 * Everything is a real process; waits are bounded polls.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processStartTime } from "../core/processes/proc";
import { readSession, writeSession, type SessionRecord } from "../core/workspace/session";
import { BUN, ROOT, type Sandbox, run, sandbox, waitFor } from "./helpers";

export interface Member {
  id: string;
  persona: string;
  name: string;
  dir: string;
}

/** `team start` through the CLI; its members by name. */
export async function startTeam(sb: Sandbox, engineers = 2, interns = 1): Promise<Record<string, Member>> {
  const r = await run(sb, ["team", "start", "Build a todo app", "--engineers", String(engineers), "--interns", String(interns), "--json"]);
  if (r.code !== 0) throw new Error(`team start failed: ${r.stderr}`);
  const out: Record<string, Member> = {};
  for (const s of JSON.parse(r.stdout).sessions as Member[]) out[s.name] = s;
  return out;
}

export function patchSession(dir: string, patch: Partial<SessionRecord>): SessionRecord {
  const id = dir.split("/").pop()!.replace(/-completed$/, "");
  const rec = readSession(dir, id, id.replace(/-\d+$/, ""))!;
  const next = { ...rec, ...patch };
  writeSession(dir, next);
  return next;
}

function helperScripts(sb: Sandbox): string {
  const dir = join(sb.root, ".helpers");
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  // Spawns an agent the way the orchestrator does (own process group, files for stdio, agent
  // env), records it in session.json, prints it, and exits at once: a crashed orchestrator.
  writeFileSync(
    join(dir, "spawn-agent.ts"),
    `import { join } from "node:path";
import { spawnDetached } from ${JSON.stringify(join(ROOT, "core/processes/proc"))};
import { readSession, writeSession } from ${JSON.stringify(join(ROOT, "core/workspace/session"))};
const [dir, record, ...argv] = process.argv.slice(2);
const id = dir.split("/").pop();
const persona = id.replace(/-\\d+$/, "");
const a = spawnDetached({
  argv,
  cwd: join(dir, "..", ".."),
  env: { PATH: process.env.PATH, CLAUDE_WRAPPER_WORKSPACE: join(dir, ".."), CLAUDE_WRAPPER_SESSION_ID: id, CLAUDE_WRAPPER_SESSION_DIR: dir, CLAUDE_WRAPPER_PERSONA: persona },
  stdoutPath: join(dir, "agent.jsonl"),
  stderrPath: join(dir, "agent.stderr.log"),
});
const rec = readSession(dir, id, persona);
writeSession(dir, record === "record"
  ? { ...rec, status: "active", pid: a.pid, pidStartTime: a.startTime, startedAt: new Date().toISOString() }
  : { ...rec, status: "active", pid: null, pidStartTime: null, startedAt: new Date().toISOString() });
console.log(JSON.stringify({ pid: a.pid, startTime: a.startTime }));
process.exit(0);
`,
  );
  // A stand-in orchestrator: records itself in .orchestrator.json; on SIGTERM stops the agents
  // it knows, marks every session stopped, removes its record and exits (or, with
  // FAKE_IGNORE_TERM=1, ignores SIGTERM like a hung one).
  writeFileSync(
    join(dir, "fake-orchestrator.ts"),
    `import { join } from "node:path";
import { writeOrchestratorPid, removeOrchestratorPid } from ${JSON.stringify(join(ROOT, "core/workspace/owner"))};
import { isOurProcess, stopGroup } from ${JSON.stringify(join(ROOT, "core/processes/proc"))};
import { readSession, writeSession } from ${JSON.stringify(join(ROOT, "core/workspace/session"))};
import { listEntries } from ${JSON.stringify(join(ROOT, "core/workspace/paths"))};
const ws = process.env.CLAUDE_WRAPPER_WORKSPACE;
writeOrchestratorPid(ws, "fake");
process.on("SIGTERM", async () => {
  if (process.env.FAKE_IGNORE_TERM === "1") return;
  for (const e of listEntries(ws)) {
    if (e.kind !== "session") continue;
    const dir = join(ws, e.dir);
    const rec = readSession(dir, e.id, e.persona);
    if (!rec) continue;
    if (rec.pid && isOurProcess(rec.pid, rec.pidStartTime)) await stopGroup(rec.pid, 2000);
    writeSession(dir, { ...rec, status: "stopped", pid: null, pidStartTime: null });
  }
  removeOrchestratorPid(ws, process.pid);
  process.exit(0);
});
console.log("ready");
setInterval(() => {}, 1 << 30);
`,
  );
  return dir;
}

/**
 * An agent left running in `member`'s session: `argv` in its own process group with the agent
 * env; session.json says active with its PID (or, with record=false, without one: a crash
 * between spawn and record). Its parent has exited, so nobody but the system reaps it.
 */
export async function leftoverAgent(sb: Sandbox, member: Member, argv: string[] = ["sleep", "300"], record = true): Promise<{ pid: number; startTime: string }> {
  const script = join(helperScripts(sb), "spawn-agent.ts");
  const p = Bun.spawnSync([BUN, script, member.dir, record ? "record" : "no-record", ...argv], { env: sb.env, stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`spawn-agent failed: ${p.stderr.toString()}`);
  const agent = JSON.parse(p.stdout.toString()) as { pid: number; startTime: string };
  await waitFor("the leftover agent to run", () => processStartTime(agent.pid) === agent.startTime);
  return agent;
}

export interface FakeOrchestrator {
  proc: ReturnType<typeof Bun.spawn>;
  pid: number;
}

/** Start the stand-in orchestrator and wait until its .orchestrator.json names it. */
export async function fakeOrchestrator(sb: Sandbox, opts: { ignoreTerm?: boolean } = {}): Promise<FakeOrchestrator> {
  const script = join(helperScripts(sb), "fake-orchestrator.ts");
  const proc = Bun.spawn([BUN, script], {
    cwd: sb.root,
    env: { ...sb.env, FAKE_IGNORE_TERM: opts.ignoreTerm ? "1" : "0" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  if (!new TextDecoder().decode(first.value).includes("ready")) throw new Error("fake orchestrator did not start");
  reader.releaseLock();
  return { proc, pid: proc.pid };
}

/** A process unrelated to any workspace (no agent env), to stand for a reused PID. */
export function unrelatedProcess(): ReturnType<typeof Bun.spawn> {
  return Bun.spawn(["sleep", "300"], { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: { PATH: process.env.PATH } });
}

/** A PID that was ours and is gone now. */
export async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  await p.exited;
  return p.pid;
}

export function alive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

/** Kill what a failed test may have left (whole groups), so one failure does not leak into the next. */
export function killGroups(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

/** Sandboxes created by `box()`, removed after each test together with anything left running. */
export function sandboxes(prefix: string) {
  const boxes: Sandbox[] = [];
  const pids: number[] = [];
  return {
    box(): Sandbox {
      const sb = sandbox(prefix);
      boxes.push(sb);
      return sb;
    },
    track(pid: number): number {
      pids.push(pid);
      return pid;
    },
    cleanup(): void {
      killGroups(pids.splice(0));
      for (const sb of boxes.splice(0)) sb.cleanup();
    },
  };
}
