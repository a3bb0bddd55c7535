/** Policies and expected values for the attestation tests, computed independently with node:crypto. */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto'
import { parsePolicyDocument } from '../../../core/policy/validate.ts'
import type { PolicySet } from '../../../core/policy/types.ts'
import { vector, vectorText } from './live-agent.ts'

export const DEVID_ROOT = vectorText('devid-ca/root.pem')
export const DEVID_INT = vectorText('devid-ca/intermediate.pem')
export const EK_ROOT = vectorText('ek-ca/swtpm-localca-rootca-cert.pem')
export const EK_INT = vectorText('ek-ca/issuercert.pem')

export const sha1Hex = (b: Uint8Array) => createHash('sha1').update(b).digest('hex')
/** openssl's EK hash: SHA-256 of the SPKI DER of a PEM public key or a DER certificate */
export function ekHashOfPem(pemPath: string): string {
  return createHash('sha256')
    .update(createPublicKey(vectorText(pemPath)).export({ type: 'spki', format: 'der' }))
    .digest('hex')
}
export const pemToDer = (pem: string) => new Uint8Array(new X509Certificate(pem).raw)

export function devidPolicy(
  config: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  name = 'tpm_devid_policy',
): Record<string, unknown> {
  return { name, requiredAttestors: [{ type: 'tpm_devid', config }], ...extra }
}
export function ekPolicy(config: Record<string, unknown>, name = 'tpm_ek_policy'): Record<string, unknown> {
  return { name, requiredAttestors: [{ type: 'tpm_ek', config }] }
}
export function policies(...list: Record<string, unknown>[]): PolicySet {
  return parsePolicyDocument({ section: 'AgentAttestation', schema: 'v1', spec: { policies: list } })
}

export { vector }
