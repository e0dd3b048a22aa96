/**
 * Test harness: real processes, real temp dirs, a fake `claude` first on PATH.
 * Nothing here mocks the filesystem or the clock; waits are bounded polls of real state.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentTurn } from "../core/agents/types";
import { loadPersonas } from "../core/workspace/personas";

export const ROOT = join(import.meta.dir, "..");
export const FIXTURES = join(import.meta.dir, "fixtures");
export const BUN = process.execPath;

/** The CLI under test: the built binary when CW_TEST_BINARY is set, else the entry under Bun. */
export function cliArgv(): string[] {
  const bin = process.env.CW_TEST_BINARY;
  if (bin) return [bin === "1" ? join(ROOT, "dist/claude-wrapper") : bin];
  return [BUN, join(ROOT, "cli.ts")];
}

/**
 * The CLI as a process that file modes bind even when the tests run as root: root reads and
 * writes a mode-000 file (CAP_DAC_OVERRIDE), so "a file nobody may read" could not be tested.
 * `setpriv` drops those capabilities from what the CLI (and its agents) may ever hold.
 */
const NO_FILE_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"];
export const canDropFileOverride = process.getuid?.() !== 0 || !!Bun.which("setpriv");

/** From now on, run the sandbox's CLI processes under file modes like any user (see above). */
export function bindFileModes(sb: Sandbox): void {
  sb.env.CW_TEST_BIND_FILE_MODES = "1";
}

function argvFor(env: Record<string, string>, args: string[]): string[] {
  const prefix = env.CW_TEST_BIND_FILE_MODES && process.getuid?.() === 0 ? NO_FILE_OVERRIDE : [];
  return [...prefix, ...cliArgv(), ...args];
}

export interface Sandbox {
  root: string;
  workspace: string;
  /** Dir of behaviour scripts for the fake claude (FAKE_CLAUDE_DIR). */
  behaviours: string;
  env: Record<string, string>;
  behave(nameOrPersona: string, script: string): void;
  cleanup(): void;
}

/** A temp project root with a workspace path and the fake claude first on PATH. */
export function sandbox(prefix = "cw-test-"): Sandbox {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const workspace = join(root, ".database");
  const behaviours = join(root, ".fake-claude");
  mkdirSync(behaviours);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: `${FIXTURES}:${process.env.PATH}`,
    FAKE_CLAUDE_DIR: behaviours,
    CLAUDE_WRAPPER_WORKSPACE: workspace,
    NO_COLOR: "1",
    // A hanging agent whose tasks are done is stopped after this grace (20 s for real agents).
    CLAUDE_WRAPPER_COMPLETION_GRACE_MS: "500",
  };
  delete env.CW_TEST_BINARY;
  return {
    root,
    workspace,
    behaviours,
    env,
    behave(key, script) {
      writeFileSync(join(behaviours, `${key}.sh`), script);
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion. */
export async function run(sb: Pick<Sandbox, "root" | "env">, args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const proc = Bun.spawn(argvFor(sb.env, args), {
    cwd: sb.root,
    env: sb.env,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Remove a tree for sure, as a person would: `rm -rf` again until it is gone. A removal racing
 * live writers (agents, the orchestrator) can stop half done; Bun's `force` says nothing then.
 */
export async function removeTree(path: string): Promise<void> {
  await waitFor(`${path} removed`, () => {
    rmSync(path, { recursive: true, force: true });
    return !existsSync(path);
  });
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes (then throw with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await Bun.sleep(everyMs);
  }
}

export interface OrchestratorProc {
  proc: ReturnType<typeof Bun.spawn>;
  /** Events parsed from `orchestrate --json` so far. */
  events: Array<Record<string, any>>;
  stderr: () => string;
  waitEvent(pred: (e: Record<string, any>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, any>>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Call `onValue` with each JSON line of a child's output as it arrives (other lines are skipped). */
export async function eachJsonLine(stream: ReadableStream<Uint8Array>, onValue: (value: Record<string, any>) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let value: Record<string, any>;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      onValue(value);
    }
  }
}

/** Start `orchestrate --json` in the sandbox and collect its events as they arrive. */
export function orchestrate(sb: Sandbox, extra: string[] = []): OrchestratorProc {
  const proc = Bun.spawn(argvFor(sb.env, ["orchestrate", "--json", ...extra]), {
    cwd: sb.root,
    env: sb.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const events: Array<Record<string, any>> = [];
  let err = "";
  void eachJsonLine(proc.stdout as ReadableStream<Uint8Array>, (e) => events.push(e));
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) err += decoder.decode(chunk, { stream: true });
  })();
  return {
    proc,
    events,
    stderr: () => err,
    waitEvent(pred, what, timeoutMs = 10_000) {
      return waitFor(`event ${what}`, () => events.find(pred), timeoutMs);
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return await proc.exited;
    },
  };
}

export function readJsonFile(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Session dirs (not archives, not requests) whose name starts with `persona-`. */
export function sessionDirs(workspace: string, persona?: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(workspace);
  } catch {}
  return names.filter((n) => /-\d{10,}$/.test(n) && (!persona || n.startsWith(`${persona}-`))).sort();
}

export function archiveDirs(workspace: string, persona?: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(workspace);
  } catch {}
  return names.filter((n) => n.endsWith("-completed") && (!persona || n.startsWith(`${persona}-`))).sort();
}

/** The fields of /proc/<pid>/stat after the command name (the state first); undefined when gone. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a zombie has finished: only its reaping is pending). */
export function processAlive(pid: number | string): boolean {
  const f = statFields(pid);
  return !!f && f[0] !== "Z";
}

/**
 * Wait until a process has used no CPU for `quietMs` (its utime + stime in /proc unchanged):
 * for a test that must know no pass is running or about to run before it acts.
 */
export async function waitQuiet(pid: number, quietMs = 500): Promise<void> {
  // utime and stime, in clock ticks.
  const cpu = () => {
    const f = statFields(pid);
    return f ? Number(f[11]) + Number(f[12]) : -1;
  };
  let last = cpu();
  let since = Date.now();
  await waitFor(`PID ${pid} quiet for ${quietMs} ms`, () => {
    const now = cpu();
    if (now !== last) [last, since] = [now, Date.now()];
    return Date.now() - since >= quietMs;
  }, 20_000, 50);
}

/** Live PIDs whose environment names this workspace (to prove nothing was orphaned). */
export function processesOfWorkspace(workspace: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const env = readFileSync(`/proc/${p}/environ`, "utf8");
      if (!processAlive(p)) continue;
      if (env.includes(`CLAUDE_WRAPPER_WORKSPACE=${workspace}\0`)) out.push(Number(p));
    } catch {}
  }
  return out;
}

/** Each run a fake agent CLI (claude, codex, gemini) recorded in a session dir (argv, pid, env facts), oldest first. */
export function fakeCalls(dir: string, cli = "claude"): Array<{ argv: string[]; pid: number; [k: string]: any }> {
  const f = join(dir, `fake-${cli}.calls.jsonl`);
  let text = "";
  try {
    text = readFileSync(f, "utf8");
  } catch {
    return [];
  }
  return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** A session dir (live or archived) by the name in its session.json. */
export function sessionByName(workspace: string, name: string): string | undefined {
  for (const d of readdirSync(workspace)) {
    try {
      if (readJsonFile(join(workspace, d, "session.json")).name === name) return join(workspace, d);
    } catch {}
  }
  return undefined;
}

/** SIGKILL every process group still carrying this workspace in its environment. */
export function killWorkspaceProcesses(workspace: string): void {
  for (const pid of processesOfWorkspace(workspace)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
}

/**
 * Orchestrators a test file starts, with short stop/backoff timings; `teardown` kills them and
 * anything they left, then removes the sandbox (call it from afterEach).
 */
export function orchestratorPool() {
  const started: OrchestratorProc[] = [];
  return {
    start(sb: Sandbox, extra: string[] = []): OrchestratorProc {
      for (const [k, v] of Object.entries({ CLAUDE_WRAPPER_STOP_GRACE_MS: "300", CLAUDE_WRAPPER_BACKOFF_MS: "50" })) sb.env[k] ??= v;
      const o = orchestrate(sb, extra);
      started.push(o);
      return o;
    },
    async teardown(sb: Sandbox | undefined): Promise<void> {
      for (const o of started.splice(0)) await o.stop("SIGKILL");
      if (!sb) return;
      killWorkspaceProcesses(sb.workspace);
      sb.cleanup();
    },
  };
}

/**
 * Sandboxes made by a test file, all removed after each test:
 * `const box = sandboxes("cw-x-"); afterEach(box.cleanup);` then `const sb = box();`.
 */
export function sandboxes(prefix: string): (() => Sandbox) & { cleanup: () => void } {
  const made: Sandbox[] = [];
  const box = () => {
    const sb = sandbox(prefix);
    made.push(sb);
    return sb;
  };
  return Object.assign(box, {
    cleanup() {
      for (const sb of made.splice(0)) sb.cleanup();
    },
  });
}

/**
 * The first run of a session of `persona` in the sandbox (`<persona>-1700000000000`), as the
 * supervisor would hand it to a runner; `fields` override.
 */
export function agentTurn(sb: Sandbox, persona: string, fields: Partial<AgentTurn> = {}): AgentTurn {
  const sessionId = `${persona}-1700000000000`;
  const sessionDir = join(sb.workspace, sessionId);
  return {
    sessionId,
    sessionDir,
    workspace: sb.workspace,
    projectRoot: sb.root,
    cwd: sb.root,
    persona: loadPersonas(sb.workspace).get(persona)!,
    agentSessionId: null,
    first: true,
    prompt: "Read instructions.md and do your tasks.",
    personaInstructionsPath: join(sessionDir, "persona-instructions.md"),
    skipPermissions: false,
    ...fields,
  };
}
