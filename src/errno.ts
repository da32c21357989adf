/**
 * Linux errno names (x86-64, arm64 and the other asm-generic architectures).
 *
 * @example
 * ```ts
 * import { errnoName } from "./errno.ts";
 * errnoName(105); // "ENOBUFS"
 * ```
 *
 * @module
 */

// Index i holds the name of errno i; "" where Linux defines none.
const NAMES: readonly string[] = [
  "",
  "EPERM", // 1
  "ENOENT", // 2
  "ESRCH", // 3
  "EINTR", // 4
  "EIO", // 5
  "ENXIO", // 6
  "E2BIG", // 7
  "ENOEXEC", // 8
  "EBADF", // 9
  "ECHILD", // 10
  "EAGAIN", // 11
  "ENOMEM", // 12
  "EACCES", // 13
  "EFAULT", // 14
  "ENOTBLK", // 15
  "EBUSY", // 16
  "EEXIST", // 17
  "EXDEV", // 18
  "ENODEV", // 19
  "ENOTDIR", // 20
  "EISDIR", // 21
  "EINVAL", // 22
  "ENFILE", // 23
  "EMFILE", // 24
  "ENOTTY", // 25
  "ETXTBSY", // 26
  "EFBIG", // 27
  "ENOSPC", // 28
  "ESPIPE", // 29
  "EROFS", // 30
  "EMLINK", // 31
  "EPIPE", // 32
  "EDOM", // 33
  "ERANGE", // 34
  "EDEADLK", // 35
  "ENAMETOOLONG", // 36
  "ENOLCK", // 37
  "ENOSYS", // 38
  "ENOTEMPTY", // 39
  "ELOOP", // 40
  "", // 41
  "ENOMSG", // 42
  "EIDRM", // 43
  "ECHRNG", // 44
  "EL2NSYNC", // 45
  "EL3HLT", // 46
  "EL3RST", // 47
  "ELNRNG", // 48
  "EUNATCH", // 49
  "ENOCSI", // 50
  "EL2HLT", // 51
  "EBADE", // 52
  "EBADR", // 53
  "EXFULL", // 54
  "ENOANO", // 55
  "EBADRQC", // 56
  "EBADSLT", // 57
  "", // 58
  "EBFONT", // 59
  "ENOSTR", // 60
  "ENODATA", // 61
  "ETIME", // 62
  "ENOSR", // 63
  "ENONET", // 64
  "ENOPKG", // 65
  "EREMOTE", // 66
  "ENOLINK", // 67
  "EADV", // 68
  "ESRMNT", // 69
  "ECOMM", // 70
  "EPROTO", // 71
  "EMULTIHOP", // 72
  "EDOTDOT", // 73
  "EBADMSG", // 74
  "EOVERFLOW", // 75
  "ENOTUNIQ", // 76
  "EBADFD", // 77
  "EREMCHG", // 78
  "ELIBACC", // 79
  "ELIBBAD", // 80
  "ELIBSCN", // 81
  "ELIBMAX", // 82
  "ELIBEXEC", // 83
  "EILSEQ", // 84
  "ERESTART", // 85
  "ESTRPIPE", // 86
  "EUSERS", // 87
  "ENOTSOCK", // 88
  "EDESTADDRREQ", // 89
  "EMSGSIZE", // 90
  "EPROTOTYPE", // 91
  "ENOPROTOOPT", // 92
  "EPROTONOSUPPORT", // 93
  "ESOCKTNOSUPPORT", // 94
  "ENOTSUP", // 95
  "EPFNOSUPPORT", // 96
  "EAFNOSUPPORT", // 97
  "EADDRINUSE", // 98
  "EADDRNOTAVAIL", // 99
  "ENETDOWN", // 100
  "ENETUNREACH", // 101
  "ENETRESET", // 102
  "ECONNABORTED", // 103
  "ECONNRESET", // 104
  "ENOBUFS", // 105
  "EISCONN", // 106
  "ENOTCONN", // 107
  "ESHUTDOWN", // 108
  "ETOOMANYREFS", // 109
  "ETIMEDOUT", // 110
  "ECONNREFUSED", // 111
  "EHOSTDOWN", // 112
  "EHOSTUNREACH", // 113
  "EALREADY", // 114
  "EINPROGRESS", // 115
  "ESTALE", // 116
  "EUCLEAN", // 117
  "ENOTNAM", // 118
  "ENAVAIL", // 119
  "EISNAM", // 120
  "EREMOTEIO", // 121
  "EDQUOT", // 122
  "ENOMEDIUM", // 123
  "EMEDIUMTYPE", // 124
  "ECANCELED", // 125
  "ENOKEY", // 126
  "EKEYEXPIRED", // 127
  "EKEYREVOKED", // 128
  "EKEYREJECTED", // 129
  "EOWNERDEAD", // 130
  "ENOTRECOVERABLE", // 131
  "ERFKILL", // 132
  "", // 133
];

/**
 * The symbolic name of a Linux errno value, or `"E<number>"` when unknown.
 *
 * @example
 * ```ts
 * errnoName(1); // "EPERM"
 * errnoName(9999); // "E9999"
 * ```
 */
export function errnoName(errno: number): string {
  return NAMES[errno] || `E${errno}`;
}

/** `EPERM`: operation not permitted. */
export const EPERM = 1;
/** `EINTR`: interrupted system call. */
export const EINTR = 4;
/** `EBADF`: bad file descriptor. */
export const EBADF = 9;
/** `EAGAIN`: no data now; try again. */
export const EAGAIN = 11;
/** `EACCES`: permission denied. */
export const EACCES = 13;
/** `EINVAL`: invalid argument. */
export const EINVAL = 22;
/** `EMFILE`: the process has too many open files. */
export const EMFILE = 24;
/** `ENOPROTOOPT`: the socket option is not known. */
export const ENOPROTOOPT = 92;
/** `EPROTONOSUPPORT`: the protocol is not supported. */
export const EPROTONOSUPPORT = 93;
/** `EAFNOSUPPORT`: the address family is not supported. */
export const EAFNOSUPPORT = 97;
/** `EADDRINUSE`: the address is in use. */
export const EADDRINUSE = 98;
/** `ENOBUFS`: the receive queue overflowed and messages were dropped. */
export const ENOBUFS = 105;
/** `ECONNREFUSED`: the kernel end refused (another network namespace). */
export const ECONNREFUSED = 111;
