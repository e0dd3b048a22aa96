// The simplest supervisor that could work, the benchmarks' baseline (run under Node):
// fs.watch on the workspace; a request dir with its instructions.md is renamed into a session
// dir and an agent is spawned there (detached, output to a file); nothing else. No claims
// surviving a crash, no adoption, no backoff, no locks.
//   node bench/bare-loop.mjs <workspace>
import { spawn } from "node:child_process";
import { existsSync, openSync, readdirSync, renameSync, watch } from "node:fs";
import { join } from "node:path";

const ws = process.argv[2];
function scan() {
  for (const d of readdirSync(ws)) {
    const m = /^(.+)-request-(.+)$/.exec(d);
    if (!m || !existsSync(join(ws, d, "instructions.md"))) continue;
    const dir = join(ws, `${m[1]}-${m[2]}`);
    try {
      renameSync(join(ws, d), dir);
    } catch {
      continue;
    }
    const out = openSync(join(dir, "agent.jsonl"), "a");
    spawn("claude", ["-p", "go"], { cwd: dir, env: { ...process.env, CLAUDE_WRAPPER_SESSION_DIR: dir }, stdio: ["ignore", out, out], detached: true }).unref();
  }
}
watch(ws, { recursive: true }, () => scan());
scan();
console.log(JSON.stringify({ event: "started", pid: process.pid }));
