import { closeSync, constants, existsSync, openSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";

/**
 * Fields 3 onward of /proc/<pid>/stat (state, ppid, pgid, …), split after the command name (field
 * 2 may hold spaces and parentheses, so after its last ')'). Linux only; undefined when gone.
 */
export function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * The kernel's start time of a process: field 22 of /proc/<pid>/stat on Linux (clock ticks since
 * boot), `ps -o lstart=` elsewhere. Together with the PID it names one process for good: a PID
 * reused by another program has another start time. Undefined when the process is gone.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  if (process.platform === "linux") {
    // A gone PID is the common case in listings: answer it without a thrown (and costly) ENOENT.
    if (!existsSync(`/proc/${pid}`)) return undefined;
    const f = procStat(pid);
    // A zombie has finished its work.
    return f && f[0] !== "Z" ? f[19] : undefined;
  }
  const r = Bun.spawnSync(["ps", "-o", "lstart=", "-p", String(pid)], { stdout: "pipe", stderr: "ignore" });
  const out = r.stdout.toString().trim();
  return r.exitCode === 0 && out ? out : undefined;
}

/** Alive and the same process we recorded (start time matches). */
export function isOurProcess(pid: number | null | undefined, startTime: string | null | undefined): boolean {
  if (!pid || !startTime) return false;
  return processStartTime(pid) === startTime;
}

export function isAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

/** Signal a whole process group (agents run as group leaders); false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** True while any process of the group `pgid` exists (Linux: scan /proc; elsewhere: kill 0). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // The group is in the table; on Linux, zombies waiting to be reaped (by init, for agents a
  // crashed orchestrator left: that can take seconds) keep it there while nothing runs.
  return process.platform === "linux" ? liveGroupMember(pgid) : true;
}

function liveGroupMember(pgid: number): boolean {
  const running = (pid: string) => {
    const f = procStat(pid);
    return !!f && f[0] !== "Z" && Number(f[2]) === pgid;
  };
  // The leader first: while it runs (the usual case) there is no need to look further.
  if (running(String(pgid))) return true;
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return true;
  }
  return names.some((n) => /^\d+$/.test(n) && running(n));
}

/** The calling process's group, when it can be told (Linux). */
export function ownProcessGroup(): number | undefined {
  const pgid = Number(procStat(process.pid)?.[2]);
  return Number.isInteger(pgid) && pgid > 1 ? pgid : undefined;
}

export interface AgentProcess {
  pid: number;
  sessionId: string;
  persona: string;
  startTime: string;
}

/**
 * Agents of a workspace found by their environment, whatever any file says (an orchestrator
 * that crashed between spawning an agent and recording its PID leaves one no file names).
 * An agent is a live process group leader whose environment names the workspace, a persona and
 * a session: its children are not leaders, and an `attach` shell carries no persona. Linux
 * only: elsewhere another process's environment is not cheaply readable, and this answers [].
 */
export function agentsByEnvironment(workspace: string): AgentProcess[] {
  if (process.platform !== "linux") return [];
  const wsNeedle = `\0CLAUDE_WRAPPER_WORKSPACE=${workspace}\0`;
  const out: AgentProcess[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const p of names) {
    if (!/^\d+$/.test(p)) continue;
    let env: string;
    try {
      env = `\0${readFileSync(`/proc/${p}/environ`, "utf8")}`;
    } catch {
      continue;
    }
    if (!env.includes(wsNeedle)) continue;
    const sessionId = /\0CLAUDE_WRAPPER_SESSION_ID=([^\0]*)\0/.exec(env)?.[1];
    const persona = /\0CLAUDE_WRAPPER_PERSONA=([^\0]*)\0/.exec(env)?.[1];
    const f = procStat(p);
    if (!sessionId || !persona || !f || f[0] === "Z" || f[2] !== p) continue;
    out.push({ pid: Number(p), sessionId, persona, startTime: f[19]! });
  }
  return out;
}

export interface SpawnedAgent {
  pid: number;
  startTime: string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Open an output file for appending, never through a symlink (it could point anywhere). */
function openOutput(path: string): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") {
      throw new Error(`${path} is a symlink; an agent's output goes only to a regular file in its session dir (remove the link)`);
    }
    throw err;
  }
}

/**
 * Start a command as the leader of its own session and process group, stdout and stderr
 * appended to files (never a pipe: the agent must outlive a crashed orchestrator), stdin closed.
 */
export function spawnDetached(opts: {
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  stdoutPath: string;
  stderrPath: string;
}): SpawnedAgent {
  const out = openOutput(opts.stdoutPath);
  let err: number;
  try {
    err = openOutput(opts.stderrPath);
  } catch (e) {
    closeSync(out);
    throw e;
  }
  let resolveExit!: (v: { code: number | null; signal: string | null }) => void;
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => (resolveExit = r));
  try {
    const child = Bun.spawn(opts.argv, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", out, err],
      detached: true,
      onExit(_proc, code, signal) {
        resolveExit({ code: code ?? null, signal: signal ? String(signal) : null });
      },
    });
    // Read the start time at once: if it is already gone, the empty string still marks our run.
    const startTime = processStartTime(child.pid) ?? "";
    return { pid: child.pid, startTime, exited };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** SIGTERM the group, then SIGKILL after `graceMs` if anything of it is left. */
export async function stopGroup(pid: number, graceMs = 3000): Promise<void> {
  await terminate((sig) => signalGroup(pid, sig), () => !groupAlive(pid), graceMs);
}

/** Poll `check` (a look at the process table) until it holds or `timeoutMs` passes. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await Bun.sleep(20);
  }
}

/**
 * SIGTERM, wait up to `graceMs` for `gone`, then SIGKILL and wait up to 2 s more. Answers
 * whether it came to SIGKILL. `send` answers false when there was nothing left to signal.
 */
export async function terminate(send: (signal: NodeJS.Signals) => boolean, gone: () => boolean, graceMs: number): Promise<boolean> {
  if (!send("SIGTERM")) return false;
  if (await waitUntil(gone, graceMs)) return false;
  send("SIGKILL");
  await waitUntil(gone, 2000);
  return true;
}

/**
 * A cheap first answer to "could this PID be running?": on Linux one readdir of /proc (on first
 * use) instead of a lookup per recorded PID, which adds up over thousands of sessions. The real
 * check (PID + start time) still follows for the PIDs that pass.
 */
export function pidTable(): (pid: number) => boolean {
  if (process.platform !== "linux") return () => true;
  let pids: Set<string> | undefined;
  return (pid) => {
    if (!pids) {
      try {
        pids = new Set(readdirSync("/proc"));
      } catch {
        return true;
      }
    }
    return pids.has(String(pid));
  };
}

/** inotify instances and watches this user's processes hold now. */
export function inotifyUsage(): { instances: number; watches: number } {
  let instances = 0;
  let watches = 0;
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {}
  const uid = process.getuid?.();
  for (const pid of pids) {
    let fds: string[];
    try {
      // The limits are per user: count only this user's processes.
      if (uid !== undefined && statSync(`/proc/${pid}`).uid !== uid) continue;
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== "anon_inode:inotify") continue;
      } catch {
        continue;
      }
      instances++;
      try {
        watches += (readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8").match(/^inotify wd:/gm) ?? []).length;
      } catch {}
    }
  }
  return { instances, watches };
}

