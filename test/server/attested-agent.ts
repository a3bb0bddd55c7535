/**
 * An attested agent as the answer route leaves it: an X.509-SVID from the server CA (for an
 * OpenSSL-made key) and its record in the registry, with that SVID's serial and the agent's
 * selectors. For the suites that call the workload routes as that agent (its client certificate).
 */
import type { ServerCa } from '../../server/ca/authority.ts'
import type { AgentStore } from '../../server/registry/store.ts'
import { opensslCsr } from '../e2e/http-agent.ts'

/** Records `spiffeId` as attested with `selectors`; its SVID's DER, base64 (the client certificate to present). */
export async function recordAttestedAgent(
  ca: ServerCa,
  registry: Pick<AgentStore, 'recordAttestation'>,
  spiffeId: string,
  selectors: string[],
): Promise<string> {
  const svid = await ca.issueSvid(opensslCsr().spki, spiffeId, 3_600_000)
  await registry.recordAttestation({
    spiffeId,
    attestorType: 'tpm_devid',
    attributes: {},
    at: Date.now(),
    svidSerial: svid.serialHex,
    svidExpiresAt: svid.notAfter,
    selectors,
  })
  return Buffer.from(svid.der).toString('base64')
}
