import { consola } from "consola";

export type EventName =
  | "started"
  | "spawned"
  | "adopted"
  | "exited"
  | "idle"
  | "resumed"
  | "restarting"
  | "failed"
  | "completed"
  | "archived"
  | "request-rejected"
  | "budget-exhausted"
  | "stopped"
  | "team-done";

export interface OrchestratorEvent {
  ts: string;
  event: EventName;
  session?: string;
  persona?: string;
  name?: string;
  pid?: number | null;
  [key: string]: unknown;
}

export type Emit = (event: EventName, fields?: Omit<Partial<OrchestratorEvent>, "ts" | "event">) => void;

/** The seed's human lines; one per event. */
function humanLine(e: OrchestratorEvent): string {
  const who = e.session ? `${e.session}${e.name && e.name !== e.session ? ` (${e.name})` : ""}` : "";
  switch (e.event) {
    case "started":
      return `👀 Orchestrator ${e.pid} watching ${e.workspace}${e.maxAgents ? ` (max ${e.maxAgents} agents)` : ""}`;
    case "spawned":
      return `🚀 Spawning ${who}${e.resume ? " (resume)" : ""}\n✅ Session ${e.session} started (PID ${e.pid})`;
    case "adopted":
      return `🤝 Adopted running agent of ${who} (PID ${e.pid})`;
    case "resumed":
      return `🔁 Resuming ${who}: ${e.reason ?? "new instructions"}`;
    case "exited":
      return `⚠️  Process ${e.pid ?? "?"} of ${who} exited (${e.signal ? `signal ${e.signal}` : `code ${e.code ?? "unknown"}`})`;
    case "idle":
      return `💤 ${who} is idle: its turn ended with tasks open; new instructions wake it`;
    case "restarting":
      return `🔄 Restarting ${who} in ${Math.round(Number(e.delayMs ?? 0))} ms (attempt ${e.attempt})`;
    case "failed":
      return `❌ ${who} failed: ${e.reason}`;
    case "completed":
      return `🎉 All tasks completed in ${who}`;
    case "archived":
      return `📦 Archived to ${e.archive}`;
    case "request-rejected":
      // JSON-quoted: a request dir's name is anyone's text (a newline in it must not forge a line).
      return `🚫 Request ${JSON.stringify(e.request)} left untouched: ${e.reason}`;
    case "budget-exhausted":
      return `💸 Budget of $${Number(e.budgetUsd).toFixed(2)} reached ($${Number(e.costUsd).toFixed(4)} spent): nothing more is started or resumed`;
    case "stopped":
      return e.session ? `🛑 Stopped ${who}` : `🛑 Orchestrator stopped`;
    case "team-done":
      return `🏁 The team is done: the manager's summary is in ${e.summary} ($${Number(e.costUsd ?? 0).toFixed(4)} in all)`;
  }
}

export function createEmitter(json: boolean): Emit {
  return (event, fields = {}) => {
    const e: OrchestratorEvent = { ts: new Date().toISOString(), event, ...fields };
    if (json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    const line = humanLine(e);
    if (event === "failed" || event === "request-rejected") consola.warn(line);
    else consola.log(line);
  };
}
