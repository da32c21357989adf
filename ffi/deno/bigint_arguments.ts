/**
 * The 64-bit integer arguments of the Deno binding, passed as BigInt.
 *
 * Deno takes a number or a BigInt for a `u64`, `usize` or `isize`
 * parameter, but the fast call that V8's optimizing compiler (TurboFan)
 * inlines into a hot caller takes a BigInt only. A number there throws the
 * optimized code away ("not a BigInt" in `--log-deopt`); V8 compiles it
 * again and throws it away again, every few hundred milliseconds for as long
 * as the listener runs. With `poll`'s `nfds_t` and `read`'s `size_t` passed
 * as numbers, a 3-second exec storm with process context cost 23 such
 * deoptimizations and 28 TurboFan compilations; with BigInts, none and 7.
 * The table's callers keep passing numbers: each function with a 64-bit
 * parameter gets a wrapper of its own here (one call site per target, so
 * that TurboFan can still inline the fast call), and the type
 * {@link WideSymbol} makes the list complete at compile time.
 *
 * @example
 * ```ts
 * import { withBigIntArguments, type RawDenoBinding } from "./bigint_arguments.ts";
 * declare const raw: RawDenoBinding;
 * const bound = withBigIntArguments(raw);
 * bound.poll(new Uint8Array(8), 1, 0); // raw.poll(…, 1n, 0)
 * ```
 *
 * @module
 */

import type { LibcBinding } from "../libc/calls.ts";
import type { LIBC_SYMBOLS, LibcSymbol } from "../libc/symbols.ts";

/** The table's 64-bit integer types. */
type WideType = "u64" | "usize" | "isize";

/**
 * The symbols of the table with at least one 64-bit integer parameter.
 *
 * @example
 * ```ts
 * import type { WideSymbol } from "./bigint_arguments.ts";
 * const name: WideSymbol = "poll";
 * ```
 */
export type WideSymbol = {
  [K in LibcSymbol]: Extract<
    (typeof LIBC_SYMBOLS)[K]["parameters"][number],
    WideType
  > extends never ? never
    : K;
}[LibcSymbol];

/** An argument of a bound function as Deno takes it. */
type RawArgument = number | bigint | Uint8Array | null;

/**
 * The table as `Deno.dlopen` binds it, before {@link withBigIntArguments}:
 * the functions with a 64-bit parameter take BigInts there, plus `poll_nb`
 * (the same `poll`, nonblocking).
 *
 * @example
 * ```ts
 * import type { RawDenoBinding } from "./bigint_arguments.ts";
 * declare const raw: RawDenoBinding;
 * raw.poll(new Uint8Array(8), 1n, 0);
 * ```
 */
export type RawDenoBinding =
  & Omit<LibcBinding, WideSymbol>
  & { [K in WideSymbol | "poll_nb"]: (...args: RawArgument[]) => unknown };

/**
 * The functions of the table with a 64-bit parameter, taking numbers there,
 * plus `poll_nb`.
 *
 * @example
 * ```ts
 * import type { NumberArguments } from "./bigint_arguments.ts";
 * declare const f: NumberArguments;
 * await f.poll_nb(new Uint8Array(8), 1, 10);
 * ```
 */
export type NumberArguments = Pick<LibcBinding, WideSymbol> & {
  /** `poll` on another thread. */
  poll_nb(fds: Uint8Array, nfds: number, timeout: number): Promise<number>;
};

/**
 * `raw` with every 64-bit argument converted from a number to a BigInt.
 *
 * @param raw the symbols of `Deno.dlopen`
 * @returns the same functions; those with 64-bit parameters wrapped
 *
 * @example
 * ```ts
 * import { withBigIntArguments, type RawDenoBinding } from "./bigint_arguments.ts";
 * declare const raw: RawDenoBinding;
 * const { read } = withBigIntArguments(raw);
 * read(3, new Uint8Array(4), 4); // raw.read(3, …, 4n)
 * ```
 */
export function withBigIntArguments(
  raw: RawDenoBinding,
): Omit<LibcBinding, WideSymbol> & NumberArguments {
  const wrapped: NumberArguments = {
    send: (fd, buf, len, flags) =>
      raw.send(fd, buf, BigInt(len), flags) as bigint,
    sendto: (fd, buf, len, flags, to, toLen) =>
      raw.sendto(fd, buf, BigInt(len), flags, to, toLen) as bigint,
    poll: (fds, nfds, timeout) =>
      raw.poll(fds, BigInt(nfds), timeout) as number,
    poll_nb: (fds, nfds, timeout) =>
      raw.poll_nb(fds, BigInt(nfds), timeout) as Promise<number>,
    syscall: (nr, a1, a2, a3, a4) =>
      raw.syscall(BigInt(nr), BigInt(a1), a2, BigInt(a3), BigInt(a4)) as bigint,
    write: (fd, buf, count) => raw.write(fd, buf, BigInt(count)) as bigint,
    read: (fd, buf, count) => raw.read(fd, buf, BigInt(count)) as bigint,
    readlink: (path, buf, size) =>
      raw.readlink(path, buf, BigInt(size)) as bigint,
    getdents64: (fd, buf, count) =>
      raw.getdents64(fd, buf, BigInt(count)) as bigint,
  };
  return { ...raw, ...wrapped };
}
