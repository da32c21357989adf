/**
 * The OpenTelemetry packages are loaded only when asked for: the static
 * import graphs of `mod.ts`, `decode.ts` and `cli.ts` (dynamic and
 * type-only imports left out, as the runtimes do) reach neither an
 * `@opentelemetry/` package nor the export's modules; `otlp.ts` and the
 * CLI's `cli/otlp.ts` do reach them (the walk's control).
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "./helpers/cli_runner.ts";

// `import … from "x"`, `export … from "x"`, `import "x"`: the clause and
// the specifier.
const STATIC_IMPORT =
  /^\s*(import|export)\s+([^"';]*?)\s*(?:from\s+)?["']([^"']+)["']/gms;

// Whether an import or export clause loads its module at run time.
function loadsAtRunTime(clause: string): boolean {
  if (/^type\b/.test(clause)) return false;
  const braces = /^\{([^}]*)\}$/.exec(clause.trim());
  if (braces === null) return true;
  const names = braces[1].split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  );
  return names.length === 0 || names.some((n) => !n.startsWith("type "));
}

/** Every module the static graph from `entry` loads (files and packages). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [normalize(join(ROOT, entry))];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith(".ts")) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const [, keyword, clause, spec] = m;
      if (keyword === "export" && !/\bfrom\b/.test(m[0])) continue;
      if (!loadsAtRunTime(clause)) continue;
      if (spec.startsWith(".")) {
        const target = normalize(join(dirname(file), spec));
        if (existsSync(target)) todo.push(target);
      } else {
        seen.add(spec);
      }
    }
  }
  return new Set(
    [...seen].map((f) => f.startsWith("/") ? relative(ROOT, f) : f),
  );
}

const otlpModules = (graph: Set<string>) =>
  [...graph].filter((m) =>
    m.startsWith("@opentelemetry/") || m === "otlp.ts" ||
    m.startsWith("otlp/") || m === "cli/otlp.ts"
  );

describe("the OpenTelemetry packages load only when used", () => {
  it(
    "mod.ts, decode.ts and the CLI do not load them",
    { timeout: 10000 },
    () => {
      // cli.ts installs the signal handlers, then imports cli/main.ts (the
      // program) dynamically: the walk starts there for the CLI.
      assert.match(
        readFileSync(join(ROOT, "cli.ts"), "utf8"),
        /import\("\.\/cli\/main\.ts"\)/,
      );
      for (const entry of ["mod.ts", "decode.ts", "cli/main.ts"]) {
        const graph = staticGraph(entry);
        assert.ok(graph.size > 3, `${entry}: ${graph.size} modules`);
        assert.deepEqual(otlpModules(graph), [], entry);
      }
      // The CLI reaches its export through a dynamic import only.
      assert.ok(staticGraph("cli/main.ts").has("cli/otlp_load.ts"));
    },
  );

  it(
    "otlp.ts and cli/otlp.ts do (the walk sees them)",
    { timeout: 10000 },
    () => {
      for (const entry of ["otlp.ts", "cli/otlp.ts"]) {
        const found = otlpModules(staticGraph(entry));
        assert.ok(found.includes("@opentelemetry/sdk-logs"), entry);
        assert.ok(found.includes("otlp/exporter.ts"), entry);
      }
    },
  );
});
