/**
 * Build the single-file executable `dist/cnproc` with Bun
 * (`bun build --compile cli.ts ffi/bun/reader_worker.ts`): the CLI and the
 * reader thread's worker with the Bun runtime inside, for
 * this machine's OS and CPU; it runs without Deno, Bun or Node installed.
 *
 * `deno compile` is not used: it downloads its runtime (`denort`) from
 * dl.deno.land, which this project's build machines cannot reach.
 *
 * Run: `npm run compile` (or `deno run -A scripts/compile.ts`). Prints the
 * output path and size.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { STANDALONE_ENTRIES } from "../ffi/bun/standalone.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
// Where the executable is written, relative to the repository root.
const OUTFILE = "dist/cnproc";

mkdirSync(join(ROOT, "dist"), { recursive: true });
const args = [
  "build",
  "--compile",
  ...STANDALONE_ENTRIES,
  "--outfile",
  OUTFILE,
];
console.log(`node_modules/.bin/bun ${args.join(" ")}`);
const r = spawnSync(join(ROOT, "node_modules/.bin/bun"), args, {
  cwd: ROOT,
  stdio: "inherit",
  timeout: 300_000,
});
if (r.status !== 0) {
  console.error(
    `bun build --compile failed (${r.error ?? `exit ${r.status ?? r.signal}`})`,
  );
  process.exit(1);
}
const size = statSync(join(ROOT, OUTFILE)).size;
console.log(`${OUTFILE}: ${(size / 2 ** 20).toFixed(1)} MiB`);
