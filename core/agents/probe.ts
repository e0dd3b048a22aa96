/**
 * Asking an agent CLI something (its version, whether it is logged in) without a turn: a short
 * child process with a deadline, output captured, stdin closed so nothing waits for a person.
 */
export interface ProbeResult {
  /** null when it was killed at the deadline. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export const PROBE_TIMEOUT_MS = 10_000;

export async function runProbe(argv: string[], env: Record<string, string | undefined>, timeoutMs = PROBE_TIMEOUT_MS, cwd?: string): Promise<ProbeResult> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env, cwd });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code: timedOut ? null : code, stdout, stderr, timedOut };
}

/** Where an executable is on the PATH of `env` (not ours: doctor and the agents may differ). */
export function whichOn(exe: string, env: Record<string, string | undefined>): string | undefined {
  return Bun.which(exe, { PATH: env.PATH ?? "" }) ?? undefined;
}

/** The first non-empty line of a text. */
export function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find(Boolean) ?? "";
}
