// Command and response framing (TPM 2.0 Library Part 1 §18, Part 3 §5): header (tag, size, code),
// handle area, authorization area (TPMS_AUTH_COMMAND, Part 2 §10.13.2), parameters. Pure: no I/O.
// Every command module returns a TpmCommand: the bytes to send and the decoder of the answer.
import { ByteReader } from '../../bytes/reader.ts'
import { ByteWriter } from '../../bytes/writer.ts'
import { utf8 } from '../../bytes/encoding.ts'
import { Tpm2Error } from '../../errors.ts'
import { TPM_RH, TPM_ST } from '../constants.ts'
import { TpmResponseError } from '../rc.ts'

/** TPMA_SESSION bits (Part 2 §8.4) */
export const TPMA_SESSION = {
  continueSession: 0x01,
  auditExclusive: 0x02,
  auditReset: 0x04,
  decrypt: 0x20,
  encrypt: 0x40,
  audit: 0x80,
} as const

/** TPMS_AUTH_COMMAND: a password (TPM_RS_PW) or a policy session (its hmac is empty or a password). */
export interface AuthCommand {
  readonly sessionHandle: number
  readonly nonceCaller?: Uint8Array
  readonly sessionAttributes?: number
  readonly hmac?: Uint8Array
}

/** The password authorization TPM_RS_PW (Part 1 §19.8.4) with `password` (UTF-8 string or bytes). */
export function passwordAuth(password: string | Uint8Array = ''): AuthCommand {
  const hmac = typeof password === 'string' ? utf8(password) : password
  return { sessionHandle: TPM_RH.PW, sessionAttributes: TPMA_SESSION.continueSession, hmac }
}

/** A policy session used without HMAC (PolicySecret/PolicyPassword not involved): empty hmac. */
export function policyAuth(sessionHandle: number, continueSession = false): AuthCommand {
  return { sessionHandle, sessionAttributes: continueSession ? TPMA_SESSION.continueSession : 0 }
}

export interface TpmCommand<R> {
  /** TPM2_<name>, for errors */
  readonly name: string
  readonly code: number
  readonly bytes: Uint8Array<ArrayBuffer>
  /** parse a complete response; throws TpmResponseError for a non-zero rc */
  decode(response: Uint8Array): R
}

/** Encode one command (Part 1 §18.2). */
export function encodeCommand(
  code: number,
  handles: readonly number[],
  auths: readonly AuthCommand[],
  params: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const w = new ByteWriter()
  w.u16(auths.length ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS)
    .u32(0)
    .u32(code)
  for (const h of handles) w.u32(h)
  if (auths.length) {
    const a = new ByteWriter()
    for (const s of auths) {
      a.u32(s.sessionHandle)
        .sized(s.nonceCaller ?? new Uint8Array(0))
        .u8(s.sessionAttributes ?? 0)
        .sized(s.hmac ?? new Uint8Array(0))
    }
    const area = a.finish()
    w.u32(area.length).bytes(area)
  }
  w.bytes(params)
  const out = w.finish()
  new DataView(out.buffer).setUint32(2, out.length)
  return out
}

export interface ParsedResponse {
  readonly tag: number
  readonly rc: number
  readonly handles: readonly number[]
  /** the response parameters (without the parameterSize field and auth area) */
  readonly params: ByteReader
}

function malformed(command: string, message: string): Tpm2Error {
  return new Tpm2Error('ERR_TPM2_MALFORMED', `TPM2_${command} response: ${message}`)
}

/** Response code of a raw response (0 when too short to tell: the caller's decode will complain). */
export function responseCodeOf(response: Uint8Array): number {
  if (response.length < 10) return 0
  return new DataView(response.buffer, response.byteOffset, response.byteLength).getUint32(6)
}

/** Parse a response (Part 1 §18.3): checks header size and rc; returns handles and parameters. */
export function parseResponse(
  command: string,
  response: Uint8Array,
  handleCount: number,
  hint?: (rc: number) => string | undefined,
): ParsedResponse {
  const r = new ByteReader(response, `TPM2_${command} response`)
  const tag = r.u16('tag')
  const size = r.u32('responseSize')
  if (size !== response.length) throw malformed(command, `responseSize ${size} but ${response.length} bytes received`)
  const rc = r.u32('responseCode')
  if (rc !== 0) {
    if (size !== 10) throw malformed(command, `error response of ${size} bytes, expected 10`)
    throw new TpmResponseError(`TPM2_${command}`, rc, hint?.(rc))
  }
  if (tag !== TPM_ST.SESSIONS && tag !== TPM_ST.NO_SESSIONS) throw malformed(command, `unknown tag 0x${tag.toString(16)}`)
  const handles: number[] = []
  for (let i = 0; i < handleCount; i++) handles.push(r.u32('handle'))
  let params: ByteReader
  if (tag === TPM_ST.SESSIONS) {
    const paramSize = r.u32('parameterSize')
    params = new ByteReader(r.take(paramSize, 'parameters'), `TPM2_${command} parameters`)
    // the rest are TPMS_AUTH_RESPONSE entries (nonceTPM, attributes, hmac): not used (no HMAC sessions)
    while (r.remaining > 0) {
      r.sized('nonceTPM')
      r.u8('sessionAttributes')
      r.sized('hmac')
    }
  } else {
    params = new ByteReader(r.take(r.remaining, 'parameters'), `TPM2_${command} parameters`)
  }
  return { tag, rc, handles, params }
}

/** Build a TpmCommand from its parts. `read` consumes the parameters; trailing bytes are an error. */
export function makeCommand<R>(
  name: string,
  code: number,
  handles: readonly number[],
  auths: readonly AuthCommand[],
  params: Uint8Array,
  responseHandles: number,
  read: (handles: readonly number[], params: ByteReader) => R,
  hint?: (rc: number) => string | undefined,
): TpmCommand<R> {
  return {
    name,
    code,
    bytes: encodeCommand(code, handles, auths, params),
    decode(response: Uint8Array): R {
      const p = parseResponse(name, response, responseHandles, hint)
      const result = read(p.handles, p.params)
      p.params.expectEnd()
      return result
    },
  }
}

export const EMPTY = new Uint8Array(0)
