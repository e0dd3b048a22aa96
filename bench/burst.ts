/**
 * Drain time of a burst: 1,000 requests written concurrently by 5 processes (mkdir, then the
 * file, as agents' shells do) into a workspace watched by dist/claude-wrapper orchestrate; the
 * time from the first write to the 1,000th `spawned` event. The fake agents exit at once.
 *
 *   bun bench/burst.ts [requests=1000] [writers=5]
 */
import { mkdirSync, readdirSync } from "node:fs";
import { type Row, benchDir, cpuSeconds, ensureBinary, ms, orchestrate, printTable } from "./lib";

export async function burst(requests = 1000, writers = 5): Promise<Row[]> {
  ensureBinary();
  const b = benchDir("burst");
  mkdirSync(b.workspace);
  const o = orchestrate(b);
  try {
    await o.next((e) => e.event === "started");
    const cpu0 = cpuSeconds(o.proc.pid);
    let spawned = 0;
    const all = o.next((e) => e.event === "spawned" && ++spawned >= requests, 300_000);
    const per = Math.ceil(requests / writers);
    const t0 = Date.now();
    const procs = Array.from({ length: writers }, (_, w) =>
      Bun.spawn(["bash", "-c", `for i in $(seq 1 ${per}); do d="$0/intern-request-w${w}-$i"; mkdir "$d"; printf '## Instructions from user\\n\\nTask %s\\n' "$i" > "$d/instructions.md"; done`, b.workspace]),
    );
    await Promise.all(procs.map((p) => p.exited));
    const written = Date.now() - t0;
    const last = await all;
    const drain = Date.parse(last.ts) - t0;
    const cpu = cpuSeconds(o.proc.pid) - cpu0;
    const left = readdirSync(b.workspace).filter((d) => d.includes("-request-")).length;
    if (left) throw new Error(`${left} request dirs left after the burst`);
    return [
      {
        section: "burst",
        metric: `${per * writers} requests from ${writers} processes: first write → last spawn`,
        value: ms(drain),
        note: `the writers took ${ms(written)} to write them all; the orchestrator used ${cpu.toFixed(1)} s of CPU for the burst; no --max-agents (the fake agents exit at once)`,
      },
      { section: "burst", metric: "spawns per second", value: `${Math.round((per * writers) / (drain / 1000))}/s` },
    ];
  } finally {
    await o.stop();
    b.cleanup();
  }
}

if (import.meta.main) printTable(await burst(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 5)));
