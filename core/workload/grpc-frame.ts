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
  private buffer: Uint8Array = new Uint8Array(0)
  private failed: WorkloadError | undefined

  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 0 || maxMessageBytes > 0xffffffff) {
      throw new RangeError('GrpcDeframer: maxMessageBytes must be an integer in [0, 2^32 - 1]')
    }
    this.maxMessageBytes = maxMessageBytes
  }

  /** Bytes received but not yet part of a complete message. */
  get pendingBytes(): number {
    return this.buffer.length
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed !== undefined) throw this.failed
    if (chunk.length > 0) {
      const joined = new Uint8Array(this.buffer.length + chunk.length)
      joined.set(this.buffer)
      joined.set(chunk, this.buffer.length)
      this.buffer = joined
    }
    const out: Uint8Array[] = []
    let at = 0
    while (this.buffer.length - at >= GRPC_FRAME_HEADER_BYTES) {
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
      if (this.buffer.length - at - GRPC_FRAME_HEADER_BYTES < length) break
      const start = at + GRPC_FRAME_HEADER_BYTES
      out.push(this.buffer.slice(start, start + length))
      at = start + length
    }
    if (at > 0) this.buffer = this.buffer.slice(at)
    return out
  }

  /** The body ended: throws if it ended inside a message. */
  finish(): void {
    if (this.failed !== undefined) throw this.failed
    if (this.buffer.length > 0) {
      this.failed = new WorkloadError('ERR_WORKLOAD_FRAME_INVALID', GRPC_FRAME_TRUNCATED, {
        detail: { pendingBytes: this.buffer.length },
      })
      throw this.failed
    }
  }
}
