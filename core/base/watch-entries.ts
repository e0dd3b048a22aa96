import { type FSWatcher, watch } from "node:fs";
import { join } from "node:path";

/**
 * The most requests being written that get a watch of their own: a burst beyond it is served at
 * the tree watcher's pace, and never takes the inotify watches it and other programs need.
 */
export const MAX_REQUEST_WATCHES = 64;

/**
 * Immediate events for the entries of a few directories, one inotify watch each, none below.
 * @parcel/watcher holds every batch until 50 ms pass without another event, and a request is
 * a burst (mkdir, create, write), so it alone puts ~50 ms between an agent's request and its
 * teammate's start. These watches carry no state and decide nothing: like the tree watcher's,
 * an event only says "look now", and the tree watcher stays the complete one.
 */
export class EntryWatches {
  private readonly watches = new Map<string, FSWatcher>();

  constructor(private readonly onPath: (path: string) => void) {}

  /**
   * Watch exactly `dirs`. Answers whether a watch was added: an entry made before its watch
   * began has no event, so the caller looks once more.
   */
  sync(dirs: Iterable<string>): boolean {
    const wanted = new Set(dirs);
    for (const [dir, w] of this.watches) {
      if (wanted.has(dir)) continue;
      w.close();
      this.watches.delete(dir);
    }
    let added = false;
    for (const dir of wanted) {
      if (this.watches.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => this.onPath(name ? join(dir, String(name)) : dir));
        // The dir removed (a request claimed) or the watch limit reached: the tree watcher and
        // the resync still see everything, only later.
        w.on("error", () => {
          w.close();
          if (this.watches.get(dir) === w) this.watches.delete(dir);
        });
        this.watches.set(dir, w);
        added = true;
      } catch {
        // Gone already, or no watch left: same as above.
      }
    }
    return added;
  }

  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }
}
