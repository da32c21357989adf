/**
 * The packaging test: the built package (`npm/`, from `npm run build`) as a
 * user gets it. `npm pack` makes the tarball; a fresh temporary project
 * installs it offline (koffi comes from npm's cache); there, under every
 * Node of the matrix (`scripts/node_binaries.ts`: the machine's, 22, 24,
 * 26, each by full path), Bun and Deno, `import { listen } from "cnproc"`
 * must deliver the exec event of a `/bin/true` the script spawns (matched
 * by pid), with nothing on stderr (Node 26's node:ffi warning included).
 * Then koffi is hidden (as `--omit=optional` leaves it out): Bun, Deno and
 * Node >= 26.1 (node:ffi) must still listen, every Node must still import
 * both entries and decode with `cnproc/decode`, and `listen()` on a Node
 * without node:ffi (older, or `--no-experimental-ffi`) must fail with
 * `missing-module` (which proves koffi really is gone). The `cnproc` bin
 * runs under each Node. Last, the strict consumer project in test/consumer/
 * compiles with tsc against the installed `.d.ts` files, and its negative
 * file fails with the expected error.
 *
 * It lives outside test/ so that the per-runtime test passes do not run it
 * three times; `npm test` runs it once:
 * `deno test -A scripts/npm_package_test.ts`.
 *
 * @module
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeBinaries, nodePathDir } from "./node_binaries.ts";
import {
  LIVE_SCRIPT,
  moduleGraph,
  NO_KOFFI_SCRIPT,
  run,
  runOk,
} from "./package_probe.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules/.bin");
const CONSUMER = join(ROOT, "test/consumer");

/** The Node versions, by full path, and whether each has node:ffi. */
const NODES = nodeBinaries().map((node) => ({
  ...node,
  ffi: spawnSync(node.path, [
    "--no-warnings",
    "-p",
    'process.getBuiltinModule?.("node:ffi") !== undefined',
  ], { encoding: "utf8" }).stdout?.trim() === "true",
}));

describe("the npm package, packed and installed", () => {
  let temp = "";
  let project = "";
  let tarballFiles: string[] = [];
  const koffiDir = () => join(project, "node_modules/koffi");
  const hiddenKoffi = () => join(project, "node_modules/.koffi-hidden");

  before(() => {
    assert.ok(
      existsSync(join(ROOT, "npm/package.json")),
      "npm/ is not built: run `npm run build` first",
    );
    temp = mkdtempSync(join(tmpdir(), "cnproc-pack-"));
    const packed = JSON.parse(
      runOk("npm", [
        "pack",
        join(ROOT, "npm"),
        "--pack-destination",
        temp,
        "--json",
      ], ROOT),
    ) as { filename: string; files: { path: string }[] }[];
    tarballFiles = packed[0].files.map((f) => f.path);
    project = join(temp, "project");
    mkdirSync(project);
    for (
      const f of [
        "package.json",
        "tsconfig.json",
        "tsconfig.decode.json",
        "tsconfig.negative.json",
        "src",
        "negative",
      ]
    ) {
      cpSync(join(CONSUMER, f), join(project, f), { recursive: true });
    }
    writeFileSync(join(project, "live.mjs"), LIVE_SCRIPT);
    writeFileSync(join(project, "no_koffi.mjs"), NO_KOFFI_SCRIPT);
    // koffi (and @types/node, the version this repository uses, for the
    // consumer) from npm's cache. A cache filled by `npm ci` alone may lack
    // the registry metadata an install needs: then ask the registry.
    const typesNode = JSON.parse(
      readFileSync(join(ROOT, "node_modules/@types/node/package.json"), "utf8"),
    ).version;
    const install = (mode: string) =>
      run("npm", [
        "install",
        join(temp, packed[0].filename),
        `@types/node@${typesNode}`,
        "--no-audit",
        "--no-fund",
        mode,
      ], project);
    let r = install("--offline");
    if (r.status !== 0) {
      console.warn(
        `npm install --offline failed, retrying with --prefer-offline:\n${r.stderr}`,
      );
      r = install("--prefer-offline");
    }
    assert.equal(r.status, 0, `npm install failed:\n${r.stdout}\n${r.stderr}`);
  });

  after(() => {
    if (temp !== "") rmSync(temp, { recursive: true, force: true });
  });

  it("ships the built modules, README and LICENSE, and no tests", () => {
    for (
      const f of [
        "package.json",
        "README.md",
        "LICENSE",
        "mod.js",
        "mod.d.ts",
        "decode.js",
        "decode.d.ts",
        "ffi/bun/adapter.js",
        "ffi/deno/adapter.js",
        "ffi/node/adapter.js",
      ]
    ) {
      assert.ok(tarballFiles.includes(f), `${f} is not in the tarball`);
    }
    const tests = tarballFiles.filter((f) => /(^|\/)test\/|_test\./.test(f));
    assert.deepEqual(tests, []);
    const ts = tarballFiles.filter((f) =>
      f.endsWith(".ts") && !f.endsWith(".d.ts")
    );
    assert.deepEqual(ts, [], "TypeScript sources are not shipped");
    const installed = JSON.parse(
      readFileSync(join(project, "node_modules/cnproc/package.json"), "utf8"),
    );
    assert.equal(installed.name, "cnproc");
    assert.ok(existsSync(koffiDir()), "koffi was not installed with cnproc");
  });

  for (const node of NODES) {
    it(
      `delivers its own child's exec event under Node ${node.label} (${
        node.ffi ? "node:ffi" : "koffi"
      }), nothing on stderr`,
      () => {
        const r = run(node.path, ["live.mjs"], project);
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        const out = JSON.parse(r.stdout);
        assert.equal(out.type, "exec");
        assert.equal(out.pid, out.childPid);
        assert.equal(r.stderr, "", "stderr");
      },
    );
  }

  it(
    `delivers it under Bun, Deno${
      NODES.some((n) => n.ffi) ? " and Node with node:ffi" : ""
    } with koffi removed (never loaded)`,
    () => {
      renameSync(koffiDir(), hiddenKoffi());
      try {
        const bun = JSON.parse(runOk(join(BIN, "bun"), ["live.mjs"], project));
        assert.equal(bun.pid, bun.childPid, "bun");
        const deno = JSON.parse(
          runOk(join(BIN, "deno"), ["run", "-A", "live.mjs"], project),
        );
        assert.equal(deno.pid, deno.childPid, "deno");
        for (const node of NODES.filter((n) => n.ffi)) {
          const r = run(node.path, ["live.mjs"], project);
          assert.equal(
            r.status,
            0,
            `Node ${node.label}: ${r.stdout}${r.stderr}`,
          );
          const out = JSON.parse(r.stdout);
          assert.equal(out.pid, out.childPid, `Node ${node.label}`);
          assert.equal(r.stderr, "", `Node ${node.label}: stderr`);
        }
      } finally {
        renameSync(hiddenKoffi(), koffiDir());
      }
    },
  );

  it("decodes with cnproc/decode under every Node without koffi; listen() needs koffi only without node:ffi", () => {
    renameSync(koffiDir(), hiddenKoffi());
    try {
      const runs = NODES.map((node) => ({ node, env: {} }));
      // A Node with node:ffi, told not to use it, needs koffi again.
      for (const node of NODES.filter((n) => n.ffi)) {
        runs.push({ node, env: { NODE_OPTIONS: "--no-experimental-ffi" } });
      }
      for (const { node, env } of runs) {
        const what = `Node ${node.label} ${JSON.stringify(env)}`;
        const out = JSON.parse(
          runOk(node.path, ["no_koffi.mjs"], project, env),
        );
        assert.deepEqual(out.decoded, {
          type: "exit",
          pid: 4242,
          tid: 4243,
          status: { exited: true, code: 7 },
          rest: 0,
        }, what);
        // koffi really was unavailable: listen() needs it and says so,
        // unless node:ffi serves.
        const ffi = node.ffi && !("NODE_OPTIONS" in env);
        assert.equal(out.failure, ffi ? "listened" : "missing-module", what);
      }
    } finally {
      renameSync(hiddenKoffi(), koffiDir());
    }
  });

  it("cnproc/decode's module graph holds no FFI module", () => {
    const pkg = join(project, "node_modules/cnproc");
    const graph = moduleGraph(pkg, "decode.js");
    assert.ok(graph.includes("src/protocol/decode.js"), graph.join(", "));
    const ffi = graph.filter((f) =>
      f.startsWith("ffi/") || !f.startsWith("src/")
    );
    assert.deepEqual(ffi, ["decode.js"]);
    // And the main entry does reach the adapters, through #adapter only.
    const main = moduleGraph(pkg, "mod.js");
    assert.ok(main.includes("ffi/adapter_import.js"), main.join(", "));
  });

  it(
    `runs the cnproc bin under Node ${NODES.map((n) => n.label).join(", ")}`,
    () => {
      const version = JSON.parse(
        readFileSync(join(ROOT, "deno.json"), "utf8"),
      ).version;
      for (const node of NODES) {
        // The bin starts with #!/usr/bin/env node: PATH picks the Node.
        const PATH = `${nodePathDir(node.label, node.path)}${delimiter}${
          process.env.PATH ?? ""
        }`;
        const r = runOk(
          join(project, "node_modules/.bin/cnproc"),
          ["--version"],
          project,
          { PATH },
        );
        assert.match(
          r,
          new RegExp(`\\b${version.replaceAll(".", "\\.")}\\b`),
          `Node ${node.label}`,
        );
      }
    },
  );

  for (const node of NODES.filter((n) => n.ffi)) {
    it(`the cnproc bin listens under Node ${node.label} (node:ffi) with nothing on stderr`, () => {
      const PATH = `${nodePathDir(node.label, node.path)}${delimiter}${
        process.env.PATH ?? ""
      }`;
      // One second of whatever runs: the output is events only.
      const r = run(
        join(project, "node_modules/.bin/cnproc"),
        ["--duration", "1", "--no-context"],
        project,
        { PATH },
      );
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.doesNotMatch(r.stdout, /Warning|experimental/);
      assert.equal(r.stderr, "", "stderr");
    });
  }

  it("compiles a strict consumer against the installed .d.ts files", () => {
    const tsc = join(BIN, "tsc");
    runOk(tsc, ["-p", "tsconfig.json"], project);
    runOk(tsc, ["-p", "tsconfig.decode.json"], project);
  });

  it("type-checks the consumer under Deno through node_modules", () => {
    // --sloppy-imports: the consumer imports "./describe.js" (nodenext).
    runOk(join(BIN, "deno"), [
      "check",
      "--sloppy-imports",
      "src/main.ts",
      "src/describe.ts",
      "src/decode_only.ts",
    ], project);
  });

  it("rejects exitCode on a fork event (negative consumer)", () => {
    const r = run(join(BIN, "tsc"), ["-p", "tsconfig.negative.json"], project);
    assert.notEqual(r.status, 0, "the negative file compiled");
    const errors = r.stdout.split("\n").filter((l) => l.includes("error TS"));
    assert.equal(errors.length, 1, r.stdout);
    assert.match(
      errors[0],
      /^negative\/fork_has_no_exit_code\.ts\(\d+,\d+\): error TS2339: Property 'exitCode' does not exist on type 'ForkEvent'/,
    );
  });
});
