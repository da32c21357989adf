/**
 * A tiny C program the live tests run as a child, compiled once per test
 * process with the system's `cc` into a temporary directory. The source is
 * kept here (not in a .c file) so the tsc build for Node carries it too.
 *
 * Modes:
 * - `thread`: create one thread, which prints its thread id; join; exit 0.
 * - `comm NAME`: set the command name with prctl(PR_SET_NAME); exit 0.
 * - `storm N`: create and join N threads, one after another; exit 0.
 *
 * @example
 * ```ts
 * import { compileHelper } from "./c_helper.ts";
 * const helper = compileHelper();
 * if (typeof helper === "string") console.log("helper at", helper);
 * ```
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SOURCE = `
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *print_tid(void *arg) {
  (void)arg;
  printf("%ld\\n", (long)syscall(SYS_gettid));
  fflush(stdout);
  return NULL;
}

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "thread") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, print_tid, NULL) != 0) return 2;
    pthread_join(t, NULL);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "comm") == 0) {
    return prctl(PR_SET_NAME, argv[2], 0, 0, 0) == 0 ? 0 : 2;
  }
  if (argc >= 3 && strcmp(argv[1], "storm") == 0) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) {
      pthread_t t;
      if (pthread_create(&t, NULL, nothing, NULL) != 0) return 2;
      pthread_join(t, NULL);
    }
    return 0;
  }
  fprintf(stderr, "usage: helper thread | comm NAME | storm N\\n");
  return 64;
}
`;

const COMPILE_TIMEOUT_MS = 30_000;

let compiled: { dir: string; path: string } | string | undefined;

/**
 * Compile the helper (once) and return its path, or a reason string when no
 * C compiler works here (tests then skip with that reason).
 *
 * @example
 * ```ts
 * import { compileHelper } from "./c_helper.ts";
 * const r = compileHelper();
 * ```
 */
export function compileHelper(): { path: string } | string {
  if (compiled !== undefined) return compiled;
  const dir = mkdtempSync(join(tmpdir(), "cnproc-live-"));
  const source = join(dir, "helper.c");
  const path = join(dir, "helper");
  writeFileSync(source, SOURCE);
  const r = spawnSync("cc", ["-O1", "-pthread", "-o", path, source], {
    encoding: "utf8",
    timeout: COMPILE_TIMEOUT_MS,
  });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    compiled = `needs a working C compiler (cc): ${
      r.error ? String(r.error) : r.stderr.trim()
    }`;
    return compiled;
  }
  compiled = { dir, path };
  return compiled;
}

/**
 * Remove the compiled helper's directory.
 *
 * @example
 * ```ts
 * import { removeHelper } from "./c_helper.ts";
 * removeHelper();
 * ```
 */
export function removeHelper(): void {
  if (typeof compiled === "object") {
    rmSync(compiled.dir, { recursive: true, force: true });
  }
  compiled = undefined;
}
