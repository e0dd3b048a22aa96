/**
 * Cold start of the binary: wall time of `dist/claude-wrapper --version`, against `node -e 0`
 * (the floor of any Node.js CLI). Median and p90 of N runs after one untimed run of each.
 *
 *   bun bench/coldstart.ts [runs=20]
 */
import { type Row, BINARY, ensureBinary, median, ms, percentile, printTable } from "./lib";

function wall(argv: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" });
  const t = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}`);
  return t;
}

export async function coldstart(runs = 20): Promise<Row[]> {
  ensureBinary();
  const node = Bun.which("node");
  const ours: number[] = [];
  const base: number[] = [];
  wall([BINARY, "--version"]);
  if (node) wall([node, "-e", "0"]);
  // Interleaved, so a burst of load elsewhere hits both alike.
  for (let i = 0; i < runs; i++) {
    ours.push(wall([BINARY, "--version"]));
    if (node) base.push(wall([node, "-e", "0"]));
  }
  return [50, 90].map((p) => ({
    section: "cold start",
    metric: `dist/claude-wrapper --version p${p} (n=${runs})`,
    value: ms(percentile(ours, p)),
    baseline: node ? `${ms(percentile(base, p))} (node -e 0)` : "node not found",
    note: p === 50 && node ? `ratio to node -e 0: ${(median(ours) / median(base)).toFixed(2)}x` : undefined,
  }));
}

if (import.meta.main) printTable(await coldstart(Number(process.argv[2] ?? 20)));
