import { errorMessage } from "./errors";
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
  try {
    const sub = await watcher.subscribe(
      dir,
      (err, events) => {
        if (err) onError(`file watcher error: ${errorMessage(err)}`);
        if (events?.length) onPaths(events.map((e) => e.path));
      },
      {
        ...(process.platform === "linux" ? { backend: "inotify" as const } : {}),
        ignore: ["**/node_modules/**", "**/.git/**"],
      },
    );
    return { close: () => sub.unsubscribe() };
  } catch (err) {
    const msg = errorMessage(err);
    const hint = /ENOSPC|No space left|watch/i.test(msg)
      ? " (inotify watch limit reached: raise fs.inotify.max_user_watches, e.g. `sysctl fs.inotify.max_user_watches=524288`)"
      : "";
    onError(`cannot watch ${dir}: ${msg}${hint}; falling back to periodic resync`);
    return undefined;
  }
}
