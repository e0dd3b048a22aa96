import { stripAnsi, visibleLength } from "../base/format";
import { type WatchHandle, watchTree } from "../base/watch";

/**
 * A full-screen view of a workspace on a terminal, redrawn when the workspace changes (file
 * events, debounced) or the window is resized; never on a timer. The terminal is restored on
 * every way out: q, Ctrl-C, SIGINT/SIGTERM/SIGHUP, or an error.
 */
export async function runLiveView(workspace: string, draw: (size: { rows: number; columns: number }) => string[], debounceMs = 50): Promise<void> {
  const out = process.stdout;
  const stdin = process.stdin;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));

  let lastRenderMs = 0;
  const render = () => {
    timer = undefined;
    const started = performance.now();
    const size = { rows: out.rows || 24, columns: out.columns || 80 };
    // Cut to the window: a wrapped line would push the frame down and scroll it.
    const lines = draw(size)
      .slice(0, size.rows)
      .map((l) => (visibleLength(l) > size.columns ? `${stripAnsi(l).slice(0, size.columns - 1)}…` : l));
    // Home, each line cleared to its end, then everything below: no blank flash between frames.
    out.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join("\r\n")}\x1b[J`);
    lastRenderMs = performance.now() - started;
  };
  // A busy team sends a stream of events: one frame per burst, and never more often than a
  // frame takes to draw (a huge workspace must not keep a core busy redrawing).
  const schedule = () => {
    if (!timer) timer = setTimeout(render, Math.max(debounceMs, lastRenderMs));
  };

  out.write("\x1b[?1049h\x1b[?25l");
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (timer) clearTimeout(timer);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    out.write("\x1b[?25h\x1b[?1049l");
  };
  const quit = () => {
    restore();
    finish();
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, quit);
  process.on("SIGWINCH", schedule);
  process.on("exit", restore);

  // Raw keys: q or Ctrl-C quits (raw mode turns Ctrl-C into a byte instead of a signal).
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", (b: Buffer) => {
      if (b.includes(0x03) || b.includes(0x71) || b.includes(0x04)) quit();
    });
  }

  let sub: WatchHandle | undefined;
  try {
    // Subscribed before the first frame, so nothing that changes in between goes unseen. The same
    // subscription as the orchestrator's (it survives dirs vanishing while it starts).
    sub = await watchTree(workspace, () => schedule(), () => {});
    render();
    await done;
  } finally {
    restore();
    for (const s of signals) process.off(s, quit);
    process.off("SIGWINCH", schedule);
    await sub?.close().catch(() => {});
  }
}
