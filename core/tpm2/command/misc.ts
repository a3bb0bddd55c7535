// Capability, random and PCR commands (Part 3 §30.2, §16.1, §22.4).
import { ByteWriter } from '../../bytes/writer.ts'
import { encodePcrSelection, readPcrSelection, type TPML_PCR_SELECTION } from '../pcr-selection.ts'
import { TPM_CAP, TPM_CC } from './codes.ts'
import { makeCommand, type TpmCommand } from './frame.ts'

export interface CapabilityResult {
  readonly moreData: boolean
  readonly capability: number
  /** TPM_CAP_TPM_PROPERTIES: property -> value */
  readonly properties?: ReadonlyMap<number, number>
  /** TPM_CAP_HANDLES */
  readonly handles?: readonly number[]
  /** any other capability: the undecoded union bytes */
  readonly raw?: Uint8Array
}

/** TPM2_GetCapability (Part 3 §30.2). */
export function getCapability(capability: number, property: number, propertyCount: number): TpmCommand<CapabilityResult> {
  const params = new ByteWriter().u32(capability).u32(property).u32(propertyCount).finish()
  return makeCommand('GetCapability', TPM_CC.GetCapability, [], [], params, 0, (_h, r) => {
    const moreData = r.u8('moreData') !== 0
    const cap = r.u32('capability')
    if (cap === TPM_CAP.TPM_PROPERTIES) {
      const n = r.u32('count')
      const properties = new Map<number, number>()
      for (let i = 0; i < n; i++) properties.set(r.u32('property'), r.u32('value'))
      return { moreData, capability: cap, properties }
    }
    if (cap === TPM_CAP.HANDLES) {
      const n = r.u32('count')
      const handles: number[] = []
      for (let i = 0; i < n; i++) handles.push(r.u32('handle'))
      return { moreData, capability: cap, handles }
    }
    return { moreData, capability: cap, raw: r.take(r.remaining, 'capabilityData') }
  })
}

/** TPM2_GetRandom (Part 3 §16.1). */
export function getRandom(bytesRequested: number): TpmCommand<Uint8Array> {
  return makeCommand('GetRandom', TPM_CC.GetRandom, [], [], new ByteWriter().u16(bytesRequested).finish(), 0, (_h, r) =>
    r.sized('randomBytes'),
  )
}

export interface PcrReadResult {
  readonly pcrUpdateCounter: number
  readonly pcrSelectionOut: TPML_PCR_SELECTION
  readonly pcrValues: readonly Uint8Array[]
}

/** TPM2_PCR_Read (Part 3 §22.4): the TPM returns at most 8 digests per call. */
export function pcrRead(selection: readonly { hash: number; pcrs: readonly number[] }[]): TpmCommand<PcrReadResult> {
  return makeCommand('PCR_Read', TPM_CC.PCR_Read, [], [], encodePcrSelection(selection), 0, (_h, r) => {
    const pcrUpdateCounter = r.u32('pcrUpdateCounter')
    const pcrSelectionOut = readPcrSelection(r)
    const n = r.u32('pcrValues.count')
    const pcrValues: Uint8Array[] = []
    for (let i = 0; i < n; i++) pcrValues.push(r.sized('digest'))
    return { pcrUpdateCounter, pcrSelectionOut, pcrValues }
  })
}
