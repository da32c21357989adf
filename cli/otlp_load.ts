/**
 * Loading `--otlp`'s module (otlp.ts) only when it is asked for, so that a
 * run without it never loads the OpenTelemetry packages, and saying what
 * to do when they are not installed (the npm package lists them as
 * optional dependencies: `npm install --omit=optional` leaves them out).
 *
 * @example
 * ```ts
 * import { loadOtlp } from "./otlp_load.ts";
 * const { startOtlp } = await loadOtlp();
 * ```
 *
 * @module
 */

/** The packages `--otlp` needs (the npm package's optional dependencies). */
export const OTLP_PACKAGES: readonly string[] = [
  "@opentelemetry/api",
  "@opentelemetry/api-logs",
  "@opentelemetry/exporter-logs-otlp-http",
  "@opentelemetry/exporter-logs-otlp-proto",
  "@opentelemetry/resources",
  "@opentelemetry/sdk-logs",
];

/**
 * The error to show for a failed import of the export module: when a
 * package of {@link OTLP_PACKAGES} is missing, one that says how to
 * install them; any other error as it is.
 *
 * @example
 * ```ts
 * import { explainImportError } from "./otlp_load.ts";
 * explainImportError(new Error("Cannot find package '@opentelemetry/sdk-logs'")).message;
 * // "--otlp needs the OpenTelemetry packages, which are not installed ..."
 * ```
 */
export function explainImportError(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (!/@opentelemetry\//.test(message)) {
    return error instanceof Error ? error : new Error(message);
  }
  return new Error(
    `--otlp needs the OpenTelemetry packages, which are not installed (the package was installed with --omit=optional?): reinstall cnproc with its optional dependencies, or run: npm install ${
      OTLP_PACKAGES.join(" ")
    } (${message.split("\n")[0]})`,
    { cause: error },
  );
}

/**
 * Import the command line's export module.
 *
 * @throws {Error} what to install, when the OpenTelemetry packages are missing
 *
 * @example
 * ```ts
 * import { loadOtlp } from "./otlp_load.ts";
 * const otlp = await loadOtlp();
 * ```
 */
export async function loadOtlp(): Promise<typeof import("./otlp.ts")> {
  try {
    return await import("./otlp.ts");
  } catch (e) {
    throw explainImportError(e);
  }
}
