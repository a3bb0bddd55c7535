/**
 * gRPC over HTTP/2 message framing (gRPC PROTOCOL-HTTP2, "Length-Prefixed-Message"): each message
 * on a request or response body is
 *
 *     Compressed-Flag (1 byte) | Message-Length (4 bytes, big-endian) | Message
 *
 * vouch negotiates no compression, so the flag must be 0 (a 1 is `ERR_WORKLOAD_FRAME_INVALID`, as is
 * any other value); a length above the bound is `ERR_INPUT_TOO_LARGE` before any byte of the message
 * is buffered. {@link GrpcDeframer} takes the body in chunks of any size.
 */
import { WorkloadError } from '../errors.ts'
import { GRPC_FRAME_COMPRESSED, GRPC_FRAME_TRUNCATED } from '../messages.ts'

/** The default bound of one message, gRPC's default receive limit (4 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

export const GRPC_FRAME_HEADER_BYTES = 5

/** Wraps one encoded message in its 5-byte prefix. */
export function frameMessage(message: Uint8Array): Uint8Array {
  if (message.length > 0xffffffff) throw new RangeError('gRPC message: longer than 2^32 - 1 bytes')
  const out = new Uint8Array(GRPC_FRAME_HEADER_BYTES + message.length)
  new DataView(out.buffer).setUint32(1, message.length)
  out.set(message, GRPC_FRAME_HEADER_BYTES)
  return out
}

/**
 * Splits a gRPC body into messages. `push` returns the messages completed by a chunk (copies, in
 * order); `finish` at the end of the body throws when a message was left incomplete. After an
 * error the deframer stays failed: the stream cannot be resynchronised.
 */
export class GrpcDeframer {
  readonly maxMessageBytes: number
  // received bytes live in buffer[start, end); the buffer grows by doubling, so a message that
  // arrives in many small chunks costs linear copying, not a copy of all pending bytes per chunk
  private buffer: Uint8Array = new Uint8Array(0)
  private start = 0
  private end = 0
  private failed: WorkloadError | undefined

  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 0 || maxMessageBytes > 0xffffffff) {
      throw new RangeError('GrpcDeframer: maxMessageBytes must be an integer in [0, 2^32 - 1]')
    }
    this.maxMessageBytes = maxMessageBytes
  }

  /** Bytes received but not yet part of a complete message. */
  get pendingBytes(): number {
    return this.end - this.start
  }

  private append(chunk: Uint8Array): void {
    const pending = this.end - this.start
    if (this.end + chunk.length > this.buffer.length) {
      const needed = pending + chunk.length
      // compact in place while that leaves half the buffer free (or the buffer already holds a
      // largest message), else grow to twice what is needed, never past a largest message unless a
      // chunk needs it: copying stays amortised linear and memory near the bound
      const limit = this.maxMessageBytes + GRPC_FRAME_HEADER_BYTES
      const inPlace = needed <= this.buffer.length && (2 * needed <= this.buffer.length || this.buffer.length >= limit)
      const grown = inPlace ? this.buffer : new Uint8Array(Math.max(needed, Math.min(Math.max(2 * needed, 64), limit)))
      if (grown === this.buffer) grown.copyWithin(0, this.start, this.end)
      else grown.set(this.buffer.subarray(this.start, this.end))
      this.buffer = grown
      this.start = 0
      this.end = pending
    }
    this.buffer.set(chunk, this.end)
    this.end += chunk.length
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed !== undefined) throw this.failed
    if (chunk.length > 0) this.append(chunk)
    const out: Uint8Array[] = []
    while (this.end - this.start >= GRPC_FRAME_HEADER_BYTES) {
      const at = this.start
      const flag = this.buffer[at]!
      if (flag !== 0) {
        this.failed =
          flag === 1
            ? new WorkloadError('ERR_WORKLOAD_FRAME_INVALID', GRPC_FRAME_COMPRESSED)
            : new WorkloadError('ERR_WORKLOAD_FRAME_INVALID', `gRPC message: compressed flag is ${flag}, expected 0`, {
                detail: { flag },
              })
        throw this.failed
      }
      const length = new DataView(this.buffer.buffer, this.buffer.byteOffset + at + 1, 4).getUint32(0)
      if (length > this.maxMessageBytes) {
        this.failed = new WorkloadError(
          'ERR_INPUT_TOO_LARGE',
          `gRPC message: ${length} bytes, more than the bound of ${this.maxMessageBytes}`,
          { detail: { length, max: this.maxMessageBytes } },
        )
        throw this.failed
      }
      if (this.end - at - GRPC_FRAME_HEADER_BYTES < length) break
      const from = at + GRPC_FRAME_HEADER_BYTES
      out.push(this.buffer.slice(from, from + length))
      this.start = from + length
    }
    if (this.start === this.end) {
      this.start = 0
      this.end = 0
      // a large message's buffer is not kept once it is consumed
      if (this.buffer.length > 64 * 1024) this.buffer = new Uint8Array(0)
    }
    return out
  }

  /** The body ended: throws if it ended inside a message. */
  finish(): void {
    if (this.failed !== undefined) throw this.failed
    if (this.end > this.start) {
      this.failed = new WorkloadError('ERR_WORKLOAD_FRAME_INVALID', GRPC_FRAME_TRUNCATED, {
        detail: { pendingBytes: this.end - this.start },
      })
      throw this.failed
    }
  }
}
