// NV commands (Part 3 §31): NV_ReadPublic, NV_Read (one chunk; the client loops by TPM_PT_NV_BUFFER_MAX).
import { ByteReader } from '../../bytes/reader.ts'
import { ByteWriter } from '../../bytes/writer.ts'
import { TPM_CC } from './codes.ts'
import { type AuthCommand, EMPTY, makeCommand, type TpmCommand } from './frame.ts'

/** TPMS_NV_PUBLIC (Part 2 §13.5) */
export interface TPMS_NV_PUBLIC {
  readonly nvIndex: number
  readonly nameAlg: number
  readonly attributes: number
  readonly authPolicy: Uint8Array
  readonly dataSize: number
}

/** TPM2_NV_ReadPublic (Part 3 §31.6). */
export function nvReadPublic(nvIndex: number): TpmCommand<{ nvPublic: TPMS_NV_PUBLIC; nvName: Uint8Array }> {
  return makeCommand('NV_ReadPublic', TPM_CC.NV_ReadPublic, [nvIndex], [], EMPTY, 0, (_h, r) => {
    const body = new ByteReader(r.sized('nvPublic'), 'TPMS_NV_PUBLIC')
    const nvPublic = {
      nvIndex: body.u32('nvIndex'),
      nameAlg: body.u16('nameAlg'),
      attributes: body.u32('attributes'),
      authPolicy: body.sized('authPolicy'),
      dataSize: body.u16('dataSize'),
    }
    body.expectEnd()
    return { nvPublic, nvName: r.sized('nvName') }
  })
}

/** TPM2_NV_Read (Part 3 §31.13) of `size` bytes at `offset`; authHandle is the index itself or owner. */
export function nvRead(authHandle: number, nvIndex: number, auth: AuthCommand, size: number, offset: number): TpmCommand<Uint8Array> {
  const params = new ByteWriter().u16(size).u16(offset).finish()
  return makeCommand('NV_Read', TPM_CC.NV_Read, [authHandle, nvIndex], [auth], params, 0, (_h, r) => r.sized('data'))
}
