/**
 * The evidence and answer decoders of the built-in attestors, gathered under their former path: the
 * shared bounded decoding is in core/attestor/decode.ts, each attestor's shapes in
 * core/attestors/<type>/evidence.ts.
 */
export { decodeBounded, EVIDENCE_LIMITS } from '../attestor/decode.ts'
export {
  decodeTpmDevidAnswer,
  decodeTpmDevidEvidence,
  type TpmDevidAnswer,
  type TpmDevidEvidence,
} from '../attestors/tpm-devid/evidence.ts'
export { decodeTpmEkAnswer, decodeTpmEkEvidence, type TpmEkAnswer, type TpmEkEvidence } from '../attestors/tpm-ek/evidence.ts'
