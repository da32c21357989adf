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

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules/.bin");
const CONSUMER = join(ROOT, "test/consumer");
const RUN_TIMEOUT_MS = 90_000;
/** How long a live script waits for its child's exec event. */
const LIVE_DEADLINE_MS = 20_000;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The Node versions, by full path, and whether each has node:ffi. */
const NODES = nodeBinaries().map((node) => ({
  ...node,
  ffi: spawnSync(node.path, [
    "--no-warnings",
    "-p",
    'process.getBuiltinModule?.("node:ffi") !== undefined',
  ], { encoding: "utf8" }).stdout?.trim() === "true",
}));

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Result {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runOk(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): string {
  const r = run(cmd, args, cwd, env);
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

// Spawns /bin/true after subscribing and prints the exec event that carries
// the child's pid, as JSON.
const LIVE_SCRIPT = `
import { spawn } from "node:child_process";
import { listen } from "cnproc";

const deadline = setTimeout(() => {
  console.error("no exec event for the child within ${LIVE_DEADLINE_MS} ms");
  process.exit(3);
}, ${LIVE_DEADLINE_MS});
const listener = await listen({ events: ["exec"] });
const child = spawn("/bin/true", { stdio: "ignore" });
for await (const ev of listener) {
  if (ev.type === "exec" && ev.pid === child.pid) {
    console.log(JSON.stringify({ childPid: child.pid, type: ev.type, pid: ev.pid }));
    break;
  }
}
clearTimeout(deadline);
`;

// Decodes a hand-made exit datagram with the pure subpath, then checks that
// the main entry imports but cannot listen without koffi.
const NO_KOFFI_SCRIPT = `
import {
  CN_IDX_PROC, CN_VAL_PROC, NLMSG_DONE, PROC_EVENT_EXIT, decodeDatagram, exitStatus,
} from "cnproc/decode";

// struct nlmsghdr (16) + struct cn_msg (20) + struct proc_event: what, cpu,
// timestamp_ns (16), then exit_proc_event { pid, tgid, exit_code,
// exit_signal, parent_pid, parent_tgid } (24).
const NLMSG_HDRLEN = 16, CN_MSG_SIZE = 20, EVENT_HEADER = 16, EXIT_DATA = 24;
const CN_MSG = NLMSG_HDRLEN, EVENT = CN_MSG + CN_MSG_SIZE, DATA = EVENT + EVENT_HEADER;
const total = DATA + EXIT_DATA;
const view = new DataView(new ArrayBuffer(total));
const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
view.setUint32(0, total, le);
view.setUint16(4, NLMSG_DONE, le);
view.setUint32(CN_MSG, CN_IDX_PROC, le);
view.setUint32(CN_MSG + 4, CN_VAL_PROC, le);
view.setUint16(CN_MSG + 16, EVENT_HEADER + EXIT_DATA, le);
view.setUint32(EVENT, PROC_EVENT_EXIT, le);
const PID = 4242, TID = 4243, STATUS = 7 << 8, SIGCHLD = 17;
view.setUint32(DATA, TID, le);
view.setUint32(DATA + 4, PID, le);
view.setUint32(DATA + 8, STATUS, le);
view.setUint32(DATA + 12, SIGCHLD, le);
const [ev, ...rest] = decodeDatagram(new Uint8Array(view.buffer));
const decoded = { type: ev.type, pid: ev.pid, tid: ev.tid, status: exitStatus(ev.exitCode), rest: rest.length };

const { listen } = await import("cnproc");
const failure = await listen({ events: ["exec"] }).then(
  (l) => { l.close(); return "listened"; },
  (e) => e.kind ?? String(e),
);
console.log(JSON.stringify({ decoded, failure }));
`;

// Relative static and dynamic imports in built JavaScript.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s*)"([^"]+)"/gm;

/** Every file `entry` reaches by imports inside the package, and the bare
 * specifiers (packages, `#imports`) it names, relative to `pkg`. */
function moduleGraph(pkg: string, entry: string): string[] {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith(".js")) continue;
    const text = readFileSync(join(pkg, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "") // doc comments hold example imports
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [, spec] of text.matchAll(IMPORT)) {
      if (spec.startsWith(".")) {
        todo.push(join(dirname(file), spec).replaceAll("\\", "/"));
      } else seen.add(spec);
    }
  }
  return [...seen].sort();
}

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
