/**
 * The release artifacts that install.sh downloads: `bun scripts/release.ts [--out DIR]` (default
 * dist/release) cross-compiles the four targets with scripts/build.ts and writes
 * `claude-wrapper-<os>-<arch>.tar.gz`, each holding the one executable `claude-wrapper`, and
 * `SHA256SUMS` in `sha256sum` format (`sha256sum -c SHA256SUMS` checks them). The directory ends
 * with exactly those five files: a file this script did not write is refused, never deleted.
 *
 * Why archives and not bare binaries: gzip halves the download (a binary is mostly the Bun
 * runtime), and a tar keeps the executable bit for anyone who downloads one by hand.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { all, buildCommit, buildTarget, megabytes } from "./build";

const root = join(import.meta.dir, "..");
const SUMS = "SHA256SUMS";
const STAGING = ".staging-";

export const archiveName = (out: string) => `${out}.tar.gz`;

/**
 * A gzipped POSIX tar of one file, streamed: a ustar header, the data padded to 512-byte
 * blocks, two zero blocks to end the archive. Written by hand because the mode must be 0755 and
 * tar's own flags for a fixed owner differ between GNU tar and macOS's bsdtar.
 */
export async function writeTarGz(file: string, nameInArchive: string, dest: string): Promise<void> {
  const size = Bun.file(file).size;
  const header = new Uint8Array(512);
  const put = (at: number, text: string) => header.set(new TextEncoder().encode(text), at);
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, "0")}\0`;
  put(0, nameInArchive);
  put(100, octal(0o755, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(size, 12));
  put(136, octal(Math.floor(Date.now() / 1000), 12));
  put(148, " ".repeat(8)); // the checksum is computed with its own field as spaces
  put(156, "0"); // a regular file
  put(257, "ustar\u000000");
  put(265, "root");
  put(297, "root");
  put(148, `${header.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `);
  const padding = new Uint8Array(((512 - (size % 512)) % 512) + 1024);
  async function* blocks() {
    yield header;
    let read = 0;
    for await (const chunk of Bun.file(file).stream()) {
      read += chunk.length;
      yield chunk;
    }
    if (read !== size) throw new Error(`${file} changed while it was packed`);
    yield padding;
  }
  const it = blocks();
  const tar = new ReadableStream<ArrayBufferView<ArrayBuffer> | ArrayBuffer>({
    async pull(c) {
      const r = await it.next();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
  });
  await Bun.write(dest, new Response(tar.pipeThrough(new CompressionStream("gzip"))));
}

export async function sha256(file: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(file).stream()) h.update(chunk);
  return h.digest("hex");
}

function fail(message: string, code: number): never {
  process.stderr.write(`release: ${message}\n`);
  process.exit(code);
}

function parseOut(argv: string[]): string {
  let out = join(root, "dist", "release");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") {
      console.log("usage: bun scripts/release.ts [--out DIR]   (default dist/release)");
      process.exit(0);
    } else if (a === "--out" || a === "--out=") {
      if (!argv[i + 1] || a === "--out=") fail("--out needs a directory", 2);
      out = resolve(argv[++i]!);
    } else if (a.startsWith("--out=")) out = resolve(a.slice(6));
    else fail(`unknown argument ${a}; usage: bun scripts/release.ts [--out DIR]`, 2);
  }
  return out;
}

/** Build, pack and checksum every target into `out`, replacing the artifacts a previous run left. */
export async function release(out: string): Promise<{ name: string; bytes: number; binaryBytes: number }[]> {
  const ours = new Set([SUMS, ...all.map((t) => archiveName(t.out))]);
  mkdirSync(out, { recursive: true });
  const foreign = readdirSync(out).filter((n) => !ours.has(n) && !n.startsWith(STAGING));
  if (foreign.length) fail(`${out} holds files this script did not write (${foreign.join(", ")}): move them or pick another --out`, 4);
  for (const n of readdirSync(out)) if (n.startsWith(STAGING)) rmSync(join(out, n), { recursive: true, force: true });
  const pkg = await Bun.file(join(root, "package.json")).json();
  console.log(`claude-wrapper ${pkg.version} (${buildCommit()}) -> ${relative(process.cwd(), out) || "."}`);

  // Everything is made in a staging dir beside the artifacts and renamed into place, so an
  // interrupted run never leaves a half-written archive where an installer could fetch it.
  const staging = mkdtempSync(join(out, STAGING));
  try {
    const made: { name: string; bytes: number; binaryBytes: number }[] = [];
    for (const t of all) {
      const started = performance.now();
      const binary = join(staging, t.out);
      const binaryBytes = await buildTarget(t, binary);
      const name = archiveName(t.out);
      await writeTarGz(binary, "claude-wrapper", join(staging, name));
      rmSync(binary);
      const bytes = Bun.file(join(staging, name)).size;
      made.push({ name, bytes, binaryBytes });
      console.log(`${name}: ${megabytes(bytes)} (binary ${megabytes(binaryBytes)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const sums = await Promise.all(made.map(async (m) => `${await sha256(join(staging, m.name))}  ${m.name}\n`));
    await Bun.write(join(staging, SUMS), sums.join(""));
    for (const m of made) renameSync(join(staging, m.name), join(out, m.name));
    renameSync(join(staging, SUMS), join(out, SUMS)); // last: it vouches for the archives above
    return made;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  await release(parseOut(process.argv.slice(2)));
  console.log(`${SUMS}: ${all.length} archives`);
}
