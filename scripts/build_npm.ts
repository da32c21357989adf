/**
 * Build the npm package into `npm/`: one package for Node, Bun and Deno.
 *
 * TypeScript (`node_modules/.bin/tsc`, the repository's tsconfig.json with
 * `rewriteRelativeImportExtensions` and `nodenext`) compiles the library
 * sources (mod.ts, decode.ts, src/, ffi/, and cli.ts when it exists) to ESM
 * JavaScript, `.d.ts` files and source maps with the sources inlined. Tests
 * are not shipped. Then:
 *
 * - `ffi/adapter_import.js` is replaced by a module that imports
 *   `#adapter`, a package import that `package.json` maps by condition:
 *   `bun` to the bun:ffi adapter, `deno` to the Deno.dlopen one, `node` to
 *   the koffi one. Only the running runtime's adapter is ever resolved, and
 *   only when `listen()` first needs it (ffi/runtime.ts loads it lazily).
 *   On Node >= 26.1 ffi/runtime.ts asks for `"node-ffi"` instead: the
 *   node:ffi adapter, which needs no package, is imported by its path
 *   ({@link NODE_FFI_ADAPTER}), and koffi is never loaded.
 *   Files copied out of the package (without its package.json) fall back to
 *   picking the adapter by the detected runtime, as the sources do.
 * - `.d.ts` files import `./x.js` instead of `./x.ts` (any TypeScript).
 * - `cli.js` gets a `#!/usr/bin/env node` first line and becomes `bin`.
 * - `package.json` is written (version from deno.json), README.md and
 *   LICENSE are copied.
 *
 * Run: `deno run -A scripts/build_npm.ts` (`npm run build`)
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "npm");
const STAGE = join(ROOT, "build");
const TSC = join(ROOT, "node_modules/.bin/tsc");

/** The npm package name (deno.json's name is the JSR one). */
export const NPM_NAME = "cnproc";

/** The library sources, relative to the repository root. */
const SOURCES = [
  "mod.ts",
  "decode.ts",
  "otlp.ts",
  "src/**/*.ts",
  "ffi/**/*.ts",
  "otlp/**/*.ts",
  "cli/**/*.ts",
];
/**
 * Dependencies of the `./otlp` entry and the CLI's `--otlp` (the
 * OpenTelemetry SDK), published as optional dependencies: installed by
 * default, so that `cnproc --otlp` and `cnproc/otlp` work after a plain
 * install, and left out by `--omit=optional` for a package without
 * dependencies (`cnproc` and `cnproc/decode` never import them).
 */
const OTLP_DEPENDENCIES = [
  "@opentelemetry/api",
  "@opentelemetry/api-logs",
  "@opentelemetry/exporter-logs-otlp-http",
  "@opentelemetry/exporter-logs-otlp-proto",
  "@opentelemetry/resources",
  "@opentelemetry/sdk-logs",
];
/** Built only when present (another engineer writes it). */
const CLI_SOURCE = "cli.ts";
/** The module replaced by the `#adapter` import (see the module doc). */
const ADAPTER_IMPORT = "ffi/adapter_import.js";
/** The adapters, by the runtime (and export condition) that loads them. */
export const ADAPTERS = {
  bun: "./ffi/bun/adapter.js",
  deno: "./ffi/deno/adapter.js",
  node: "./ffi/node/adapter.js",
} as const;

interface DenoJson {
  name: string;
  version: string;
  exports: Record<string, string>;
}

interface TsConfig {
  exclude?: string[];
}

/** `./mod.ts` -> `./mod.js` (or `.d.ts`). */
export function builtPath(source: string, ext: ".js" | ".d.ts"): string {
  if (!source.endsWith(".ts")) {
    throw new Error(`export target ${source} is not a .ts file`);
  }
  return source.slice(0, -".ts".length) + ext;
}

/** The npm `exports` map that mirrors deno.json's `exports`. */
export function npmExports(
  denoExports: Record<string, string>,
): Record<string, { types: string; default: string }> {
  const out: Record<string, { types: string; default: string }> = {};
  for (const [key, source] of Object.entries(denoExports)) {
    out[key] = {
      types: builtPath(source, ".d.ts"),
      default: builtPath(source, ".js"),
    };
  }
  return out;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${
        r.error ? String(r.error) : `exit ${r.status ?? r.signal}`
      })`,
    );
  }
}

/** Files tsc must leave out: what tsconfig.json excludes, and all tests. */
function excludedSources(): string[] {
  const base = readJson<TsConfig>(join(ROOT, "tsconfig.json"));
  const fromBase = (base.exclude ?? []).filter((p) => !p.startsWith("test"));
  return [...fromBase, "test/**", "**/*_test.ts"];
}

/** The node:ffi adapter (Node >= 26.1), imported by path, not by condition. */
export const NODE_FFI_ADAPTER = "./ffi/node_ffi/adapter.js";

/** The replacement for ffi/adapter_import.js inside the package. */
const ADAPTER_IMPORT_JS =
  `// Generated by scripts/build_npm.ts: in the npm package the adapter is
// resolved by package.json "imports" conditions (bun, deno, node), so only
// the running runtime's adapter module is ever loaded. Node's built-in FFI
// (ffi/runtime.ts names it "node-ffi" on Node >= 26.1) needs no package:
// its adapter is imported by path.
export async function importAdapter(runtime) {
  if (runtime === "node-ffi") {
    return (await import("${
    NODE_FFI_ADAPTER.replace("./ffi/", "./")
  }")).adapter;
  }
  let module;
  try {
    module = await import("#adapter");
  } catch (error) {
    if (!isUnresolvedAdapterImport(error)) throw error;
    // The files were copied out of the package, away from its package.json:
    // pick the adapter by the detected runtime, as the sources do.
    if (runtime === "deno") module = await import("./deno/adapter.js");
    else if (runtime === "bun") module = await import("./bun/adapter.js");
    else module = await import("./node/adapter.js");
  }
  const { adapter } = module;
  if (adapter.runtime !== runtime) {
    throw new Error(
      \`cnproc: the #adapter import resolved the \${adapter.runtime} adapter, but this is \${runtime}; the resolver's export conditions do not match the runtime.\`,
    );
  }
  return adapter;
}

// "#adapter" itself could not be resolved (as opposed to an error raised
// while loading the adapter, such as a missing koffi, which has a kind).
function isUnresolvedAdapterImport(error) {
  if (typeof error !== "object" || error === null || "kind" in error) {
    return false;
  }
  return error.code === "ERR_PACKAGE_IMPORT_NOT_DEFINED" ||
    String(error.message).includes("#adapter");
}
`;

function compile(withCli: boolean): void {
  mkdirSync(STAGE, { recursive: true });
  const config = join(STAGE, "tsconfig.npm.json");
  const fromStage = (p: string) => relative(STAGE, join(ROOT, p));
  const include = [...SOURCES, ...(withCli ? [CLI_SOURCE] : [])];
  writeFileSync(
    config,
    JSON.stringify(
      {
        extends: fromStage("tsconfig.json"),
        compilerOptions: {
          rootDir: fromStage("."),
          outDir: fromStage("npm"),
          declaration: true,
          sourceMap: true,
          inlineSources: true,
          noEmitOnError: true,
        },
        include: include.map(fromStage),
        exclude: excludedSources().map(fromStage),
      },
      null,
      2,
    ) + "\n",
  );
  run(TSC, ["-p", config]);
}

// A relative module specifier ending in .ts, in a declaration's `from "…"`,
// `import "…"` or `import("…")`.
const TS_SPECIFIER =
  /(\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)"(\.{1,2}\/[^"]*)\.ts"/gm;

/**
 * tsc keeps the `.ts` specifiers of the sources in `.d.ts` files; write
 * `.js`, as for the JavaScript, so that any TypeScript version resolves
 * them (each `x.js` finds its `x.d.ts`).
 */
export function rewriteDeclarationSpecifiers(text: string): string {
  return text.replace(TS_SPECIFIER, (_, head, path) => `${head}"${path}.js"`);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : [join(dir, d.name)]
  );
}

function addShebang(file: string): void {
  const text = readFileSync(file, "utf8");
  const body = text.startsWith("#!")
    ? text.slice(text.indexOf("\n") + 1)
    : text;
  writeFileSync(file, "#!/usr/bin/env node\n" + body);
  chmodSync(file, 0o755);
}

function packageJson(deno: DenoJson, withCli: boolean, files: string[]) {
  const dev = readJson<{ dependencies?: Record<string, string> }>(
    join(ROOT, "package.json"),
  );
  const koffi = dev.dependencies?.koffi;
  if (koffi === undefined) {
    throw new Error("package.json has no koffi dependency to publish");
  }
  const otlp: Record<string, string> = {};
  for (const name of OTLP_DEPENDENCIES) {
    const version = dev.dependencies?.[name];
    if (version === undefined) {
      throw new Error(`package.json has no ${name} dependency to publish`);
    }
    otlp[name] = version;
  }
  return {
    name: NPM_NAME,
    version: deno.version,
    description:
      "Linux process events (fork, exec, exit, uid, gid, sid, ptrace, comm, coredump) from the kernel's netlink proc connector, for Node, Bun and Deno.",
    license: "MIT",
    keywords: ["linux", "netlink", "cn_proc", "process", "events", "exec"],
    type: "module",
    exports: npmExports(deno.exports),
    imports: {
      "#adapter": { ...ADAPTERS, default: ADAPTERS.node },
    },
    ...(withCli ? { bin: { cnproc: "./cli.js" } } : {}),
    files,
    engines: { node: ">=20" },
    // No dependencies: everything is optional. Only Node loads koffi, so
    // that a platform without a koffi build still installs, for decoding
    // and for Bun and Deno. The OpenTelemetry packages are loaded only by
    // `cnproc/otlp` and `cnproc --otlp`, which say what to install when
    // they are missing (`--omit=optional`).
    optionalDependencies: { koffi, ...otlp },
  };
}

function main(): void {
  const deno = readJson<DenoJson>(join(ROOT, "deno.json"));
  const withCli = existsSync(join(ROOT, CLI_SOURCE));
  rmSync(OUT, { recursive: true, force: true });
  compile(withCli);

  const adapterImport = join(OUT, ADAPTER_IMPORT);
  if (!existsSync(adapterImport)) {
    throw new Error(`${ADAPTER_IMPORT} was not built: ffi/runtime.ts changed?`);
  }
  writeFileSync(adapterImport, ADAPTER_IMPORT_JS);
  // The conditions work only if nothing else imports an adapter directly.
  const scanned = listFiles(OUT).filter((f) =>
    f.endsWith(".js") && f !== adapterImport
  );
  for (const file of scanned) {
    const text = readFileSync(file, "utf8");
    const direct = Object.values(ADAPTERS).find((p) =>
      text.includes(`import("${p.replace("./ffi/", "./")}")`) ||
      text.includes(`import("${p.replace("./ffi/", "../")}")`) ||
      text.includes(`import("${p.replace("./ffi/", "../ffi/")}")`) ||
      text.includes(`import("${p}")`)
    );
    if (direct !== undefined) {
      throw new Error(
        `npm/${
          relative(OUT, file)
        } imports ${direct} directly: import adapters only through ffi/adapter_import.ts, so that the #adapter conditions apply`,
      );
    }
  }
  rmSync(adapterImport + ".map", { force: true });
  const missing = [...Object.values(ADAPTERS), NODE_FFI_ADAPTER].filter((
    p,
  ) => !existsSync(join(OUT, p)));
  for (const p of missing) {
    console.warn(
      `build_npm: warning: ${p} was not built (tsconfig.json excludes its source); that runtime cannot listen with this package`,
    );
  }
  for (const file of listFiles(OUT).filter((f) => f.endsWith(".d.ts"))) {
    const text = rewriteDeclarationSpecifiers(readFileSync(file, "utf8"));
    const left = text.match(/"\.{1,2}\/[^"\n]*\.ts"/);
    if (left !== null) {
      throw new Error(
        `npm/${relative(OUT, file)} still imports ${
          left[0]
        }: extend TS_SPECIFIER`,
      );
    }
    writeFileSync(file, text);
  }
  if (withCli) addShebang(join(OUT, "cli.js"));

  copyFileSync(join(ROOT, "README.md"), join(OUT, "README.md"));
  copyFileSync(join(ROOT, "LICENSE"), join(OUT, "LICENSE"));
  const files = readdirSync(OUT)
    .filter((f) => !["README.md", "LICENSE"].includes(f))
    .map((f) => (f.includes(".") ? f : f + "/"))
    .sort();
  writeFileSync(
    join(OUT, "package.json"),
    JSON.stringify(packageJson(deno, withCli, files), null, 2) + "\n",
  );
  console.log(
    `build_npm: ${NPM_NAME}@${deno.version} in npm/ (${files.join(", ")})${
      withCli ? ", bin cnproc" : ""
    }`,
  );
}

if (import.meta.main) main();
