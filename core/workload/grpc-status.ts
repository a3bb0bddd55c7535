/**
 * gRPC status codes (grpc/doc/statuscodes.md) and the trailers that carry them (PROTOCOL-HTTP2):
 * `grpc-status` is the decimal code, `grpc-message` the description, percent-encoded: every byte of
 * its UTF-8 form outside 0x20–0x7E, and `%` itself, becomes `%XX`. A receiver decodes leniently (a
 * malformed `%` sequence stays as it is; bytes that are not UTF-8 become U+FFFD), and vouch bounds
 * what it keeps of a received message.
 */

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus]

const NAMES: readonly string[] = Object.keys(GrpcStatus)

/** `PERMISSION_DENIED` for 7; `UNKNOWN` for a number that is no status code. */
export function grpcStatusName(code: number): keyof typeof GrpcStatus {
  return (Number.isInteger(code) && code >= 0 && code < NAMES.length ? NAMES[code] : 'UNKNOWN') as keyof typeof GrpcStatus
}

export function isGrpcStatusCode(code: unknown): code is GrpcStatusCode {
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16
}

/**
 * The code of a `grpc-status` header value. A missing, non-decimal or out-of-range value is
 * UNKNOWN (the gRPC rule for a status a client cannot understand).
 */
export function parseGrpcStatus(value: string | undefined): GrpcStatusCode {
  if (value === undefined || !/^[0-9]{1,2}$/.test(value)) return GrpcStatus.UNKNOWN
  const n = Number(value)
  return isGrpcStatusCode(n) ? n : GrpcStatus.UNKNOWN
}

/**
 * The gRPC code for an HTTP response that carries no `grpc-status` (gRPC http-grpc-status-mapping):
 * 400 → INTERNAL, 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → UNIMPLEMENTED,
 * 429/502/503/504 → UNAVAILABLE, anything else → UNKNOWN.
 */
export function grpcStatusFromHttp(status: number): GrpcStatusCode {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL
    case 401:
      return GrpcStatus.UNAUTHENTICATED
    case 403:
      return GrpcStatus.PERMISSION_DENIED
    case 404:
      return GrpcStatus.UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE
    default:
      return GrpcStatus.UNKNOWN
  }
}

const HEX = '0123456789ABCDEF'
const encoder = new TextEncoder()
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

/** Percent-encodes a status message for the `grpc-message` trailer. */
export function encodeGrpcMessage(message: string): string {
  let out = ''
  for (const b of encoder.encode(message)) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b)
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`
  }
  return out
}

/** What vouch keeps of a received `grpc-message` (characters after decoding). */
export const MAX_GRPC_MESSAGE_CHARS = 1024

const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1

/**
 * Decodes a `grpc-message` value: `%XX` sequences become bytes, everything else is kept; the bytes
 * are read as UTF-8 with replacement, and the result is cut at {@link MAX_GRPC_MESSAGE_CHARS}.
 */
export function decodeGrpcMessage(value: string | undefined, maxChars = MAX_GRPC_MESSAGE_CHARS): string {
  if (value === undefined || value === '') return ''
  const raw = value.length > maxChars * 3 ? value.slice(0, maxChars * 3) : value
  const bytes: number[] = []
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 0x25 && i + 2 < raw.length) {
      const hi = hexValue(raw.charCodeAt(i + 1))
      const lo = hexValue(raw.charCodeAt(i + 2))
      if (hi >= 0 && lo >= 0) {
        bytes.push((hi << 4) | lo)
        i += 2
        continue
      }
    }
    // a header value is ASCII; anything wider is kept as its UTF-8
    if (c < 0x80) bytes.push(c)
    else for (const b of encoder.encode(raw[i]!)) bytes.push(b)
  }
  const text = lenientUtf8.decode(Uint8Array.from(bytes))
  return text.length > maxChars ? text.slice(0, maxChars) : text
}
