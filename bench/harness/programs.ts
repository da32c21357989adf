/**
 * The programs a bench process runs, and how they are built: the C storm and
 * reference listener compiled with `cc`, and a snapshot of the cnproc
 * listener's sources (with its tsc output for Node).
 *
 * The bench measures a snapshot of the sources taken when it starts
 * (`<work dir>/snap/`, and its tsc output `<work dir>/node/` for Node): the
 * shared working tree changes under other work. Compiled (the smoke test on
 * Node), it uses the listener beside it.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { basename } from "node:path";
import { BENCH_DIR, COMPILED, NODE_MODULES_BIN, REPO_ROOT } from "./paths.ts";

/**
 * Where one bench process finds the programs it starts.
 *
 * @example
 * ```ts
 * import { type Programs, programsIn } from "./programs.ts";
 * const p: Programs = programsIn("/tmp/bench/");
 * console.log(p.storm, p.tsListener);
 * ```
 */
export interface Programs {
  /** The compiled bench/storm.c. */
  storm: string;
  /** The compiled bench/ref_listener.c. */
  refListener: string;
  /** bench/cnproc_listener.ts, as Deno and Bun run it. */
  tsListener: string;
  /** Its tsc output, as Node runs it. */
  nodeListener: string;
}

const C_PROGRAMS = ["storm", "ref_listener"] as const;
const SNAPSHOT_FILES = [
  "mod.ts",
  "decode.ts",
  "src",
  "ffi",
  "bench/cnproc_listener.ts",
  "bench/harness/latency_histogram.ts",
  "package.json",
  "deno.json",
  "tsconfig.json",
];
const LISTENER = "bench/cnproc_listener";

/**
 * The programs of work directory `dir` before any snapshot: the C programs
 * in `dir`, the listener of the working tree (or, compiled, the one beside
 * this bench) and the path where the Node listener would be compiled.
 *
 * @example
 * ```ts
 * import { programsIn } from "./programs.ts";
 * console.log(programsIn("/tmp/bench/").nodeListener);
 * ```
 */
export function programsIn(dir: string): Programs {
  return {
    storm: dir + "storm",
    refListener: dir + "ref_listener",
    tsListener: REPO_ROOT + LISTENER + ".ts",
    nodeListener: COMPILED
      ? BENCH_DIR + "cnproc_listener.js"
      : dir + "node/" + LISTENER + ".js",
  };
}

/**
 * Compile bench/storm.c and bench/ref_listener.c into `dir` (created if
 * needed). Throws if `cc` fails.
 *
 * @example
 * ```ts
 * import { compileC } from "./programs.ts";
 * compileC("/tmp/bench/");
 * ```
 */
export function compileC(dir: string): void {
  for (const name of C_PROGRAMS) compileCProgram(dir, `bench/${name}.c`);
}

/**
 * Compile one C file of the repository (`source`, e.g. `bench/storm.c`)
 * with `cc -O2 -pthread` into `dir` (created if needed), named after the
 * file without `.c`; returns the program's path. Throws if `cc` fails.
 *
 * @example
 * ```ts
 * import { compileCProgram } from "./programs.ts";
 * const idle = compileCProgram("/tmp/bench/", "bench/goals/idle_ref.c");
 * ```
 */
export function compileCProgram(dir: string, source: string): string {
  mkdirSync(dir, { recursive: true });
  const out = dir + basename(source, ".c");
  const r = spawnSync("cc", [
    "-O2",
    "-pthread",
    "-o",
    out,
    REPO_ROOT + source,
  ], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`cc failed for ${source}`);
  return out;
}

/**
 * Copy the listener's sources to `<dir>snap/` and, if `compileNode`, compile
 * them with tsc to `<dir>node/`; returns the programs of `dir` with the
 * listener paths pointing at these copies (the Node one only if compiled).
 * `extraFiles` (repository paths, e.g. `bench/argv_capture.ts` and the
 * modules it imports) join the snapshot and its tsc build: see
 * {@link withScript}.
 *
 * @example
 * ```ts
 * import { snapshotListener } from "./programs.ts";
 * const { tsListener, nodeListener } = snapshotListener("/tmp/bench/", true);
 * ```
 */
export function snapshotListener(
  dir: string,
  compileNode: boolean,
  extraFiles: readonly string[] = [],
): Programs {
  const snap = dir + "snap/";
  const nodeOut = dir + "node/";
  const programs = programsIn(dir);
  rmSync(snap, { recursive: true, force: true });
  for (const f of [...SNAPSHOT_FILES, ...extraFiles]) {
    cpSync(REPO_ROOT + f, snap + f, { recursive: true });
  }
  symlinkSync(REPO_ROOT + "node_modules", snap + "node_modules");
  programs.tsListener = snap + LISTENER + ".ts";
  if (compileNode) {
    rmSync(nodeOut, { recursive: true, force: true });
    // Type errors elsewhere must not stop the bench: tsc emits anyway.
    spawnSync(NODE_MODULES_BIN + "tsc", [
      "-p",
      snap + "tsconfig.json",
      "--outDir",
      nodeOut,
    ], { stdio: "ignore" });
    programs.nodeListener = nodeOut + LISTENER + ".js";
    if (!existsSync(programs.nodeListener)) {
      throw new Error(`tsc did not emit ${programs.nodeListener}`);
    }
  }
  return programs;
}

/**
 * The programs of a snapshot taken in `dir` with another bench script of it
 * (`file`, a repository path given in `extraFiles` to
 * {@link snapshotListener}) in place of the listener, so that
 * `listenerCommand` starts that script on each runtime: its snapshot copy
 * for Deno and Bun, its tsc output for Node.
 *
 * @example
 * ```ts
 * import { snapshotListener, withScript } from "./programs.ts";
 * const file = "bench/argv_capture.ts";
 * const p = withScript(snapshotListener("/tmp/bench/", true, [file]), "/tmp/bench/", file);
 * ```
 */
export function withScript(
  programs: Programs,
  dir: string,
  file: string,
): Programs {
  return {
    ...programs,
    tsListener: dir + "snap/" + file,
    nodeListener: dir + "node/" + file.replace(/\.ts$/, ".js"),
  };
}

/**
 * Remove a work directory and everything in it.
 *
 * @example
 * ```ts
 * import { removeWorkDir } from "./programs.ts";
 * removeWorkDir("/tmp/bench/");
 * ```
 */
export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
