import { errorMessage } from "./errors";
import { lstatOrUndefined } from "./fsx";
import { loadWatcher } from "./watcher-native";

export interface WatchHandle {
  close(): Promise<void>;
}

/**
 * Subscribe to every change below `dir`. Events only mean "look now": the callback gets the
 * changed paths and decides nothing. inotify is pinned on Linux (watchman, if installed, would
 * otherwise be preferred and behave differently). Errors are reported, not thrown, so the
 * caller can fall back to its periodic resync.
 */
export async function watchTree(
  dir: string,
  onPaths: (paths: string[]) => void,
  onError: (message: string) => void,
): Promise<WatchHandle | undefined> {
  let watcher: ReturnType<typeof loadWatcher>;
  try {
    watcher = loadWatcher();
  } catch (err) {
    onError(`file watcher unavailable (${errorMessage(err)}); falling back to periodic resync`);
    return undefined;
  }
  // Test-only fault injection (lowering the real, machine-wide fs.inotify.max_user_watches in a
  // test would break every other watcher on the machine): "1" fails the subscription as inotify
  // does when the limit is used up; "runtime" kills a working subscription with that error.
  const fake = process.env.CLAUDE_WRAPPER_FAKE_WATCH_ERROR;
  const limitError = () => new Error(`inotify_add_watch on '${dir}' failed: No space left on device`);
  try {
    if (fake === "1") throw limitError();
    const subscribe = () =>
      watcher.subscribe(
        dir,
        (err, events) => {
          // @parcel/watcher drops a subscription after an error: no more events will come.
          if (err) onError(`file watcher error: ${errorMessage(err)}${limitHint(errorMessage(err))}; falling back to periodic resync`);
          if (events?.length) onPaths(events.map((e) => e.path));
        },
        {
          ...(process.platform === "linux" ? { backend: "inotify" as const } : {}),
          // Agents' worktrees and dependency trees churn: not watched at all (no events, no watches).
          ignore: ["**/node_modules/**", "**/.git/**", ".worktrees/**"],
        },
      );
    // The subscription walks the tree: a dir removed meanwhile (a session archived, a request
    // claimed) fails it. That is a race, not a broken watcher: try again a few times.
    let sub: Awaited<ReturnType<typeof subscribe>> | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        sub = await subscribe();
        break;
      } catch (err) {
        const msg = errorMessage(err);
        if (attempt >= 6 || /No space left|ENOSPC|too many/i.test(msg) || !lstatOrUndefined(dir)) throw err;
        await Bun.sleep(20 * 2 ** attempt);
      }
    }
    if (fake === "runtime") {
      setTimeout(() => {
        void sub.unsubscribe();
        onError(`file watcher error: ${limitError().message}${limitHint(limitError().message)}; falling back to periodic resync`);
      }, 100);
    }
    return { close: () => sub.unsubscribe() };
  } catch (err) {
    const msg = errorMessage(err);
    onError(`cannot watch ${dir}: ${msg}${limitHint(msg)}; falling back to periodic resync`);
    return undefined;
  }
}

function limitHint(msg: string): string {
  return /ENOSPC|No space left/i.test(msg)
    ? " (inotify watch limit reached: raise fs.inotify.max_user_watches, e.g. `sysctl fs.inotify.max_user_watches=524288`)"
    : "";
}
