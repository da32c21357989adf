/**
 * The whole test suite, as `npm test` runs it: format, lint and type checks,
 * then the tests under Deno, under Bun, and under Node on the JavaScript that
 * TypeScript compiles. Every step runs; the summary names the ones that
 * failed, and the command fails if any did.
 *
 * Node runs as a matrix ({@link NODE_MATRIX}): the machine's Node (20) and
 * Node 26 (node:ffi) run every Node test; Node 22 and 24 run the adapter,
 * packaging and live tests ({@link NODE_SUBSET}). Each Node is called by its
 * full path (`scripts/node_binaries.ts`): inside `npm test` a bare `node`
 * would be `node_modules/.bin/node`, one of the npm-installed versions; and
 * every step's PATH starts with a directory whose `node` is the Node that
 * step means (the machine's outside the Node steps).
 *
 * Run: `deno run -A scripts/test.ts [--only deno|bun|node|npm|checks]
 * [--node 20|22|24|26]` (`--node`: only that Node's steps)
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { delimiter } from "node:path";
import { parseArgs } from "node:util";
import { nodeBinaries, type NodeBinary, nodePathDir } from "./node_binaries.ts";

interface Step {
  name: string;
  group: string;
  cmd: string[];
  timeoutS: number;
  /** The Node this step means (its PATH's `node`); default the machine's. */
  node?: NodeBinary;
}

const BIN = "node_modules/.bin/";
const CHECKED = [
  "mod.ts",
  "decode.ts",
  "cli.ts",
  "cli/",
  "otlp.ts",
  "otlp/",
  "src/",
  "ffi/",
  "test/",
  "scripts/",
  "bench/",
  "examples/",
];

/** The Node versions (full paths), the machine's first. */
const NODES: NodeBinary[] = nodeBinaries();

/**
 * Which Node versions run every Node test (the tsc output), and which run
 * only {@link NODE_SUBSET}: the oldest supported (koffi) and Node 26
 * (node:ffi) in full, the LTS lines between them on the subset.
 */
const NODE_MATRIX = { full: ["20", "26"], subset: ["22", "24"] };
/** Against the built npm package, only the machine's Node runs everything. */
const NPM_FULL = ["20"];
/** The adapter, packaging and live tests: what differs between Nodes. */
const NODE_SUBSET = [
  "runtime_test.js",
  "node_ffi_test.js",
  "node_poll_watch_test.js",
  "node_worker_test.js",
  "listen_test.js",
  "listen_errors_test.js",
  "proc_socket_test.js",
  "datagram_sender_test.js",
  "wait_rule_test.js",
  "keep_alive_test.js",
  "cli_test.js",
  "context_test.js",
];

/** One step per Node version: `make(node, full)` with `full` as listed. */
function nodeSteps(
  group: string,
  make: (node: NodeBinary, full: boolean) => Omit<Step, "group" | "node">,
  fullOn: readonly string[],
): Step[] {
  return NODES.map((node) => ({
    ...make(node, fullOn.includes(node.label)),
    group,
    node,
  }));
}

const STEPS: Step[] = [
  {
    name: "deno fmt --check",
    group: "checks",
    cmd: [BIN + "deno", "fmt", "--check"],
    timeoutS: 60,
  },
  {
    name: "deno lint",
    group: "checks",
    cmd: [BIN + "deno", "lint"],
    timeoutS: 60,
  },
  {
    name: "deno check",
    group: "checks",
    cmd: [BIN + "deno", "check", ...CHECKED],
    timeoutS: 180,
  },
  {
    name: "deno doc --lint (every export)",
    group: "checks",
    cmd: [
      BIN + "deno",
      "doc",
      "--lint",
      "mod.ts",
      "decode.ts",
      "cli.ts",
      "otlp.ts",
    ],
    timeoutS: 60,
  },
  {
    name: "tests under Deno",
    group: "deno",
    cmd: [BIN + "deno", "test", "-A", "test/"],
    timeoutS: 300,
  },
  {
    name: "tests under Bun",
    group: "bun",
    cmd: [BIN + "bun", "test", "--timeout", "60000", "./test/"],
    timeoutS: 300,
  },
  {
    name: "compile for Node (tsc)",
    group: "node",
    cmd: [BIN + "tsc", "-p", "tsconfig.json"],
    timeoutS: 120,
  },
  ...nodeSteps("node", (node, full) => ({
    name: `tests under Node ${node.label}${
      full ? "" : " (adapter, packaging, live)"
    }`,
    // Only *_test.js: Node 20 would run every .js file under a test/ folder.
    cmd: [
      node.path,
      "--test",
      "--test-concurrency=1",
      ...(full
        ? testFiles("build/node/test")
        : NODE_SUBSET.map((f) => `build/node/test/${f}`)),
    ],
    timeoutS: full ? 300 : 180,
  }), NODE_MATRIX.full),
  {
    name: "npm build (npm/)",
    group: "npm",
    cmd: [BIN + "deno", "run", "-A", "scripts/build_npm.ts"],
    timeoutS: 120,
  },
  {
    name: "exports parity: deno.json and npm/package.json",
    group: "npm",
    cmd: [BIN + "deno", "run", "-A", "scripts/check_exports.ts"],
    timeoutS: 60,
  },
  ...nodeSteps("npm", (node, full) => ({
    name: `tests under Node ${node.label} against npm/${
      full ? "" : " (adapter, packaging, live)"
    }`,
    cmd: [
      BIN + "deno",
      "run",
      "-A",
      "scripts/test_against_npm.ts",
      "--node",
      node.path,
      ...(full ? [] : ["--only", NODE_SUBSET.join(",")]),
    ],
    timeoutS: full ? 420 : 180,
  }), NPM_FULL),
  {
    name: `npm package: pack, install, listen in Node ${
      NODES.map((n) => n.label).join("/")
    }, Bun, Deno; consumer tsc`,
    group: "npm",
    cmd: [BIN + "deno", "test", "-A", "scripts/npm_package_test.ts"],
    timeoutS: 300,
  },
  {
    name: "JSR: deno publish --dry-run",
    group: "npm",
    cmd: [BIN + "deno", "publish", "--dry-run", "--allow-dirty"],
    timeoutS: 120,
  },
];

/** The compiled test files under `dir` (read when the step runs). */
function testFiles(dir: string): string[] {
  return [`@${dir}`];
}

/** A step's command, with `@dir` expanded to the `*_test.js` files in it. */
function expand(cmd: string[]): string[] {
  return cmd.flatMap((arg) => {
    if (!arg.startsWith("@")) return [arg];
    const dir = arg.slice(1);
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith("_test.js")).sort();
    } catch {
      names = [];
    }
    return names.length > 0 ? names.map((f) => `${dir}/${f}`) : [dir];
  });
}

const { values } = parseArgs({
  options: { only: { type: "string" }, node: { type: "string" } },
});
const machineNode = NODES[0];
const results: { step: Step; ok: boolean; seconds: number }[] = [];
for (const step of STEPS) {
  if (values.only && step.group !== values.only) continue;
  if (values.node && step.node?.label !== values.node) continue;
  const cmd = expand(step.cmd);
  const node = step.node ?? machineNode;
  const PATH = [nodePathDir(node.label, node.path), process.env.PATH ?? ""]
    .join(delimiter);
  console.log(`\n=== ${step.name}: ${cmd.join(" ")}`);
  const t0 = performance.now();
  const r = spawnSync(cmd[0], cmd.slice(1), {
    stdio: "inherit",
    timeout: step.timeoutS * 1000,
    env: { ...process.env, PATH },
  });
  const seconds = (performance.now() - t0) / 1000;
  const ok = r.status === 0;
  if (!ok) {
    console.log(
      `=== FAILED: ${step.name} (${
        r.error ? String(r.error) : `exit ${r.status ?? r.signal}`
      })`,
    );
  }
  results.push({ step, ok, seconds });
}
console.log("\n=== summary");
for (const { step, ok, seconds } of results) {
  console.log(
    `${ok ? "ok    " : "FAILED"} ${step.name} (${seconds.toFixed(1)} s)`,
  );
}
const failed = results.filter((r) => !r.ok).length;
console.log(`steps: ${results.length - failed} passed, ${failed} failed`);
if (failed > 0) {
  console.log(
    `Failed: ${
      results.filter((r) => !r.ok).map((r) => r.step.name).join("; ")
    }`,
  );
  process.exit(1);
}
