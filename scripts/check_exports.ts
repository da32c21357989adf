/**
 * Check that the npm package in `npm/` (built by scripts/build_npm.ts) and
 * deno.json (the JSR package) publish the same entry points: the same
 * subpaths, each npm entry pointing at the JavaScript and `.d.ts` compiled
 * from the deno.json module, all of them present, the version equal, the
 * `#adapter` import mapping each runtime condition to that runtime's
 * adapter, and `bin` present exactly when cli.ts is.
 *
 * Run: `deno run -A scripts/check_exports.ts` (after `npm run build`).
 * Prints every problem found and exits 1 if there is any.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const NPM = join(ROOT, "npm");

interface DenoJson {
  name?: string;
  version?: string;
  exports?: Record<string, string> | string;
}

interface PackageJson {
  name?: string;
  version?: string;
  type?: string;
  exports?: Record<string, unknown>;
  imports?: Record<string, unknown>;
  bin?: Record<string, string>;
}

/** An entry point as both packages should describe it. */
interface Entry {
  subpath: string;
  js: string;
  dts: string;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** What deno.json's exports promise, as npm file names. */
export function expectedEntries(deno: DenoJson): Entry[] {
  const exports = typeof deno.exports === "string"
    ? { ".": deno.exports }
    : deno.exports ?? {};
  return Object.entries(exports).map(([subpath, source]) => {
    const stem = source.replace(/\.ts$/, "");
    return { subpath, js: stem + ".js", dts: stem + ".d.ts" };
  });
}

/**
 * Every difference between deno.json and the built package.json, as
 * readable sentences; empty when they agree.
 */
export function compareExports(
  deno: DenoJson,
  pkg: PackageJson,
  exists: (relativePath: string) => boolean,
  hasCli: boolean,
): string[] {
  const problems: string[] = [];
  if (deno.version !== pkg.version) {
    problems.push(
      `version: deno.json has ${deno.version}, npm/package.json ${pkg.version}`,
    );
  }
  if (pkg.type !== "module") {
    problems.push(`npm/package.json type is not "module"`);
  }
  const expected = expectedEntries(deno);
  if (expected.length === 0) problems.push("deno.json has no exports");
  const npmExports = pkg.exports ?? {};
  const expectedKeys = new Set(expected.map((e) => e.subpath));
  for (const key of Object.keys(npmExports)) {
    if (!expectedKeys.has(key)) {
      problems.push(`npm exports ${key}, deno.json does not`);
    }
  }
  for (const e of expected) {
    const target = npmExports[e.subpath] as
      | { types?: unknown; default?: unknown; import?: unknown }
      | undefined;
    if (target === undefined) {
      problems.push(`deno.json exports ${e.subpath}, npm does not`);
      continue;
    }
    const keys = Object.keys(target);
    if (keys[0] !== "types") {
      problems.push(`npm exports ${e.subpath}: "types" must be first`);
    }
    if (target.types !== e.dts) {
      problems.push(
        `npm exports ${e.subpath}: types ${target.types}, expected ${e.dts}`,
      );
    }
    const js = target.default ?? target.import;
    if (js !== e.js) {
      problems.push(`npm exports ${e.subpath}: ${js}, expected ${e.js}`);
    }
    for (const file of [e.js, e.dts]) {
      if (!exists(file)) problems.push(`npm/${file} is missing`);
    }
  }
  const adapter = pkg.imports?.["#adapter"] as
    | Record<string, string>
    | undefined;
  for (const runtime of ["bun", "deno", "node"]) {
    const target = adapter?.[runtime];
    if (target !== `./ffi/${runtime}/adapter.js`) {
      problems.push(
        `npm imports #adapter: the ${runtime} condition gives ${target}, expected ./ffi/${runtime}/adapter.js`,
      );
    } else if (!exists(target)) {
      problems.push(`npm/${target} (the ${runtime} adapter) is missing`);
    }
  }
  // Node >= 26.1 imports the node:ffi adapter by path (no condition).
  if (!exists("./ffi/node_ffi/adapter.js")) {
    problems.push(
      "npm/ffi/node_ffi/adapter.js (the node:ffi adapter) is missing",
    );
  }
  const conditions = Object.keys(adapter ?? {});
  if (
    conditions.indexOf("node") < Math.max(
      conditions.indexOf("bun"),
      conditions.indexOf("deno"),
    )
  ) {
    // Bun and Deno also match "node": it must come after both.
    problems.push(`npm imports #adapter: "node" must follow "bun" and "deno"`);
  }
  const bin = pkg.bin?.cnproc;
  if (hasCli && bin === undefined) {
    problems.push("cli.ts exists but npm/package.json has no bin.cnproc");
  }
  if (!hasCli && bin !== undefined) {
    problems.push(`bin.cnproc is ${bin} but there is no cli.ts`);
  }
  if (bin !== undefined && !exists(bin)) {
    problems.push(`bin.cnproc: npm/${bin} is missing`);
  }
  return problems;
}

function main(): void {
  const deno = readJson<DenoJson>(join(ROOT, "deno.json"));
  const pkgPath = join(NPM, "package.json");
  if (!existsSync(pkgPath)) {
    console.error("npm/package.json is missing: run `npm run build` first.");
    process.exit(1);
  }
  const pkg = readJson<PackageJson>(pkgPath);
  const hasCli = existsSync(join(ROOT, "cli.ts"));
  const problems = compareExports(
    deno,
    pkg,
    (p) => existsSync(join(NPM, p)),
    hasCli,
  );
  const adapterImport = join(NPM, "ffi/adapter_import.js");
  if (
    existsSync(adapterImport) &&
    !readFileSync(adapterImport, "utf8").includes(
      'import("./node_ffi/adapter.js")',
    )
  ) {
    problems.push(
      "npm/ffi/adapter_import.js does not import ./node_ffi/adapter.js for node-ffi (Node >= 26.1)",
    );
  }
  const bin = pkg.bin?.cnproc;
  if (bin !== undefined && existsSync(join(NPM, bin))) {
    const first = readFileSync(join(NPM, bin), "utf8").split("\n", 1)[0];
    if (first !== "#!/usr/bin/env node") {
      problems.push(`npm/${bin} starts with ${first}, not a node shebang`);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`check_exports: ${p}`);
    process.exit(1);
  }
  const subpaths = expectedEntries(deno).map((e) => e.subpath).join(", ");
  console.log(
    `check_exports: deno.json and npm/package.json agree (${subpaths}; #adapter bun/deno/node, node-ffi by path${
      bin ? "; bin cnproc" : ""
    })`,
  );
}

if (import.meta.main) main();
