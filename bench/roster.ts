/**
 * What keeping ROSTER.md costs the orchestrator at the end of a pass: writeRoster over N live
 * sessions (plus 100 archived ones of the team) when nothing a teammate reads changed (render +
 * compare, no write) and when one session's status changed (render + atomic write). In process,
 * median of R calls each.
 *
 *   bun bench/roster.ts [runs=50]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPersonas } from "../core/workspace/personas";
import { writeRoster } from "../core/workspace/roster";
import { type SessionRecord, newSessionRecord, writeSession } from "../core/workspace/session";
import { writeTeam } from "../core/workspace/team-file";
import { type Row, median, printTable } from "./lib";

const RUNS = Number(process.argv[2] ?? 50);
const PERSONAS = ["software-engineer", "software-engineer", "intern", "solutions-architect"];

function team(ws: string, live: number): SessionRecord[] {
  const base = 1_800_000_000_000;
  writeTeam(ws, { id: String(base), goal: "Build a URL shortener", startedAt: new Date(base).toISOString() });
  for (let i = 0; i < 100; i++) {
    const id = `intern-${base + 1_000_000 + i}`;
    const dir = join(ws, `${id}-completed`);
    mkdirSync(dir);
    writeSession(dir, newSessionRecord({ id, persona: "intern", name: `done-${i}`, status: "completed", tasksDone: 1, tasksTotal: 1 }));
    writeFileSync(join(dir, "notes.md"), "notes\n");
  }
  return Array.from({ length: live }, (_, i) => {
    const persona = i === 0 ? "engineering-manager" : PERSONAS[i % PERSONAS.length]!;
    return newSessionRecord({ id: `${persona}-${base + i}`, persona, name: `${persona.split("-").pop()}-${i}`, status: i % 3 ? "active" : "idle", costUsd: i / 100, tasksDone: 1, tasksTotal: 3, model: "sonnet" });
  });
}

const rows: Row[] = [];
for (const live of [20, 200, 1000]) {
  const ws = join(mkdtempSync(join(tmpdir(), "cw-bench-roster-")), ".database");
  mkdirSync(ws);
  const recs = team(ws, live);
  const personas = loadPersonas(ws);
  writeRoster(ws, recs, personas);
  const same: number[] = [];
  const changed: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    if (writeRoster(ws, recs, personas)) throw new Error("unchanged roster was written");
    same.push(performance.now() - t);
    const i = 1 + (r % (live - 1));
    recs[i] = { ...recs[i]!, status: recs[i]!.status === "idle" ? "active" : "idle" };
    t = performance.now();
    if (!writeRoster(ws, recs, personas)) throw new Error("changed roster was not written");
    changed.push(performance.now() - t);
  }
  rows.push({ section: "roster", metric: `writeRoster, ${live} live + 100 archived, nothing changed (n=${RUNS})`, value: `${median(same).toFixed(2)} ms` });
  rows.push({ section: "roster", metric: `writeRoster, ${live} live + 100 archived, one status changed (n=${RUNS})`, value: `${median(changed).toFixed(2)} ms` });
  rmSync(join(ws, ".."), { recursive: true, force: true });
}
printTable(rows);
