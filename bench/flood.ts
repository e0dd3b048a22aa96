/**
 * What a request written slowly in many small appends costs the orchestrator: 3,000 one-byte
 * writes to one request's instructions.md, ~1 ms apart, while a team is idle. The settle window
 * is widened so the request stays unclaimed throughout: what is measured is the looking, not
 * the claim. Every write is an inotify event; a pass per write would be a core's worth of work.
 *
 *   bun bench/flood.ts [writes=3000]
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type Row, benchDir, cli, cpuSeconds, ensureBinary, orchestrate, printTable } from "./lib";

export async function flood(writes = 3000): Promise<Row[]> {
  ensureBinary();
  const b = benchDir("flood");
  try {
    cli(b, ["team", "start", "Flood"]);
    const o = orchestrate(b, [], { CLAUDE_WRAPPER_SETTLE_MS: "60000" });
    try {
      await o.next((e) => e.event === "idle" && e.persona === "engineering-manager");
      await o.next((e) => e.event === "idle" && e.persona === "solutions-architect");
      const req = join(b.workspace, "intern-request-flood");
      mkdirSync(req);
      const fd = openSync(join(req, "instructions.md"), "a");
      const cpu0 = cpuSeconds(o.proc.pid);
      const t0 = performance.now();
      try {
        writeSync(fd, "## Instructions from user\n\n");
        for (let i = 0; i < writes; i++) {
          writeSync(fd, "x");
          await Bun.sleep(1);
        }
      } finally {
        closeSync(fd);
      }
      const secs = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(o.proc.pid) - cpu0;
      return [
        {
          section: "flood",
          metric: `a request written in ${writes} appends over ${secs.toFixed(1)} s: orchestrator CPU`,
          value: `${((100 * cpu) / secs).toFixed(1)} % of a core`,
          note: `${cpu.toFixed(2)} s of CPU; an event only says "look now", and a request with text is looked at again by its settle timer`,
        },
      ];
    } finally {
      await o.stop();
    }
  } finally {
    b.cleanup();
  }
}

if (import.meta.main) printTable(await flood(Number(process.argv[2] ?? 3000)));
