/**
 * The whole test suite, as `npm test` runs it: format, lint and type checks,
 * then the tests under Deno, under Bun, and under Node on the JavaScript that
 * TypeScript compiles. Every step runs; the summary names the ones that
 * failed, and the command fails if any did.
 *
 * Run: `deno run -A scripts/test.ts [--only deno|bun|node|npm|checks]`
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

interface Step {
  name: string;
  group: string;
  cmd: string[];
  timeoutS: number;
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
  {
    name: "tests under Node",
    group: "node",
    // Only *_test.js: Node 20 would run every .js file under a test/ folder.
    cmd: [
      "sh",
      "-c",
      "node --test --test-concurrency=1 build/node/test/*_test.js",
    ],
    timeoutS: 300,
  },
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
  {
    name: "tests under Node against npm/",
    group: "npm",
    cmd: [BIN + "deno", "run", "-A", "scripts/test_against_npm.ts"],
    timeoutS: 420,
  },
  {
    name: "npm package: pack, install, listen in Node, Bun, Deno; consumer tsc",
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

const { values } = parseArgs({ options: { only: { type: "string" } } });
const results: { step: Step; ok: boolean; seconds: number }[] = [];
for (const step of STEPS) {
  if (values.only && step.group !== values.only) continue;
  console.log(`\n=== ${step.name}: ${step.cmd.join(" ")}`);
  const t0 = performance.now();
  const r = spawnSync(step.cmd[0], step.cmd.slice(1), {
    stdio: "inherit",
    timeout: step.timeoutS * 1000,
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
