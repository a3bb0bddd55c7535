/**
 * The evidence and answer decoders of every attestor, gathered under their former path: the shared
 * bounded decoding is in decode.ts, each attestor's shapes in attestors/<type>/evidence.ts.
 */
export { decodeBounded, EVIDENCE_LIMITS } from './decode.ts'
export { decodeTpmDevidAnswer, decodeTpmDevidEvidence, type TpmDevidAnswer, type TpmDevidEvidence } from './attestors/tpm-devid/evidence.ts'
export { decodeTpmEkAnswer, decodeTpmEkEvidence, type TpmEkAnswer, type TpmEkEvidence } from './attestors/tpm-ek/evidence.ts'
