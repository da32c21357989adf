/**
 * Run the test suite under Node against the built npm package (`npm/`)
 * instead of the sources.
 *
 * TypeScript compiles the tests (with tsconfig.json's options) and what they
 * import into `build/npm_test/`; then every file the package ships (mod.js,
 * decode.js, src/, ffi/, ..., and its package.json with the `#adapter`
 * import conditions) replaces the compiled sources there, copied from
 * `npm/`. The compiled tests keep their relative imports (`../mod.js`), so
 * every library module they load is a byte-for-byte copy of the package's
 * file, under the package's package.json. Copies rather than symbolic
 * links: tests that copy the tree elsewhere (to hide koffi, say) must not
 * resolve back into the repository. `build/npm_test/test/` sits at the same
 * depth as `build/node/test/`, so paths the tests compute stay valid.
 *
 * Run: `deno run -A scripts/test_against_npm.ts [--node PATH] [--only
 * a_test.js,b_test.js]` after `npm run build`: `--node` is the Node to run
 * the tests with (default: the machine's, by full path, never
 * `node_modules/.bin/node`), `--only` a subset of the compiled test files.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { systemNode } from "./node_binaries.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const NPM = join(ROOT, "npm");
const STAGE = join(ROOT, "build/npm_test");
const TSC = join(ROOT, "node_modules/.bin/tsc");
/**
 * Tests of repository files the package does not ship (the bench, the
 * examples), which run in the Node pass on build/node/ and would look for
 * build/node/ files here.
 */
const NOT_PACKAGE_TESTS = new Set(["bench_smoke_test.js", "examples_test.js"]);
/** What the package holds besides modules and package.json: not copied. */
const NOT_MODULES = new Set(["README.md", "LICENSE"]);

function run(cmd: string, args: string[], timeoutS: number): number {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    stdio: "inherit",
    timeout: timeoutS * 1000,
  });
  if (r.error) console.error(`${cmd}: ${r.error}`);
  return r.status ?? 1;
}

/** The compiled test files (`*_test.js`) under `dir`, sorted. */
function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) =>
      d.isFile() && d.name.endsWith("_test.js") &&
      !NOT_PACKAGE_TESTS.has(d.name)
    )
    .map((d) => join(d.parentPath, d.name))
    .sort();
}

function main(): void {
  const { values } = parseArgs({
    options: { node: { type: "string" }, only: { type: "string" } },
  });
  const node = values.node ?? systemNode();
  const only = values.only?.split(",").filter((f) => f !== "");
  if (!existsSync(join(NPM, "package.json"))) {
    console.error("npm/ is not built: run `npm run build` first.");
    process.exit(1);
  }
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  // Only the tests and what they import: work in progress elsewhere (bench/,
  // examples/) cannot break this step.
  const config = join(STAGE, "tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { rootDir: "../..", outDir: "." },
      include: ["../../test/**/*.ts"],
      exclude: ["../../test/consumer/"],
    }) + "\n",
  );
  if (run(TSC, ["-p", config], 120) !== 0) process.exit(1);
  const copied: string[] = [];
  for (const entry of readdirSync(NPM)) {
    if (NOT_MODULES.has(entry)) continue;
    const staged = join(STAGE, entry);
    rmSync(staged, { recursive: true, force: true });
    cpSync(join(NPM, entry), staged, { recursive: true });
    copied.push(entry);
  }
  console.log(
    `test_against_npm: the tests use npm/'s ${copied.join(", ")}`,
  );
  const tests = testFiles(join(STAGE, "test")).filter((f) =>
    only === undefined || only.includes(basename(f))
  );
  if (tests.length === 0) {
    console.error("no compiled tests (*_test.js) in build/npm_test/test/");
    process.exit(1);
  }
  process.exit(run(node, ["--test", "--test-concurrency=1", ...tests], 600));
}

if (import.meta.main) main();
