/**
 * Load @parcel/watcher's native addon. A compiled binary cannot find it through the package's
 * own dynamic `require(name)`, so the build defines WATCHER_NATIVE and exactly one static
 * `require` of that platform's `.node` file survives bundling and is embedded. Under plain
 * `bun` (tests, dev) the package resolves as usual.
 */
declare const WATCHER_NATIVE: string | undefined;

export type WatcherApi = typeof import("@parcel/watcher");

let api: WatcherApi | undefined;

export function loadWatcher(): WatcherApi {
  if (api) return api;
  const { createWrapper } = require("@parcel/watcher/wrapper");
  let binding: unknown;
  if (typeof WATCHER_NATIVE === "undefined") {
    return (api = require("@parcel/watcher") as WatcherApi);
  } else if (WATCHER_NATIVE === "linux-x64-glibc") {
    binding = require("@parcel/watcher-linux-x64-glibc/watcher.node");
  } else if (WATCHER_NATIVE === "linux-arm64-glibc") {
    binding = require("@parcel/watcher-linux-arm64-glibc/watcher.node");
  } else if (WATCHER_NATIVE === "darwin-x64") {
    binding = require("@parcel/watcher-darwin-x64/watcher.node");
  } else if (WATCHER_NATIVE === "darwin-arm64") {
    binding = require("@parcel/watcher-darwin-arm64/watcher.node");
  } else {
    throw new Error(`this build has no file watcher for ${WATCHER_NATIVE}`);
  }
  return (api = createWrapper(binding) as WatcherApi);
}
