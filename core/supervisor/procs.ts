/**
 * The agents this supervisor runs: children it spawned (their exit arrives as an event) and
 * orphans it adopted after a crash (not its children: their life is checked on a timer, which
 * runs only while there are any). Holds facts, decides nothing.
 */
import { fatalOnStderr } from "../agents/agentlog";
import { dialectFor } from "../agents/index";
import type { AgentRunner } from "../agents/types";
import { isOurProcess } from "../processes/proc";

export interface Proc {
  pid: number;
  startTime: string;
  adopted: boolean;
  exit?: { code: number | null; signal: string | null };
  /** A failure on stderr that no restart can fix (bad flags, root + skip-permissions). */
  fatal?: string;
}

export class ProcessTable {
  private readonly procs = new Map<string, Proc>();
  private adoptedTimer: ReturnType<typeof setInterval> | undefined;

  /** `changed(id)` is called when a process of a session ends. */
  constructor(
    private readonly changed: (id: string) => void,
    private readonly adoptedCheckMs: number,
  ) {}

  get(id: string): Proc | undefined {
    return this.procs.get(id);
  }

  ids(): string[] {
    return [...this.procs.keys()];
  }

  /** Live ones (not yet seen to end), by session. */
  live(): Array<[string, Proc]> {
    return [...this.procs].filter(([, p]) => !p.exit);
  }

  child(id: string, pid: number, startTime: string, exited: Promise<{ code: number | null; signal: string | null }>, stderr: { path: string; from: number; runner: AgentRunner }): void {
    const proc: Proc = { pid, startTime, adopted: false };
    this.procs.set(id, proc);
    void exited.then((exit) => {
      if (exit.code !== 0) proc.fatal = fatalOnStderr(stderr.path, stderr.from, dialectFor(stderr.runner.name));
      proc.exit = exit;
      this.changed(id);
    });
  }

  adopt(id: string, pid: number, startTime: string): void {
    this.procs.set(id, { pid, startTime, adopted: true });
    this.adoptedTimer ??= setInterval(() => this.checkAdopted(), this.adoptedCheckMs);
  }

  forget(id: string): void {
    this.procs.delete(id);
  }

  close(): void {
    if (this.adoptedTimer) clearInterval(this.adoptedTimer);
    this.adoptedTimer = undefined;
  }

  private checkAdopted(): void {
    let any = false;
    for (const [id, p] of this.procs) {
      if (!p.adopted || p.exit) continue;
      if (isOurProcess(p.pid, p.startTime)) {
        any = true;
        continue;
      }
      p.exit = { code: null, signal: null };
      this.changed(id);
    }
    if (!any) this.close();
  }
}
