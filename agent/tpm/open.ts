// Choose and open the agent's one TPM transport from `agent.tpm`:
//   ''/undefined            -> auto-detect /dev/tpmrmN, else /dev/tpmN (SPIRE rule), pure device transport
//   '/dev/...'              -> that device, pure
//   'swtpm:host=..,port=..' -> native TCTI when built (and not `pure`), else pure raw TCP
//   'device:PATH'           -> native when built, else pure device
//   'mssim:...', 'tabrmd:'  -> native only
import { DeviceTransport, detectTpmDevice, parseTctiHostPort, TcpTransport, type TpmTransport } from './transport.ts'
import { loadNativeTcti, NativeTctiTransport, nativeUnavailableReason } from './native.ts'

export interface OpenTransportOptions {
  /** 'auto' (default): native for TCTI strings when available; 'pure': never native; 'native': require it */
  readonly bridge?: 'auto' | 'pure' | 'native'
  /** for auto-detection tests */
  readonly devDir?: string
}

export async function openTransport(spec: string | undefined, opts: OpenTransportOptions = {}): Promise<TpmTransport> {
  const bridge = opts.bridge ?? 'auto'
  const s = (spec ?? '').trim()
  if (!s) return new DeviceTransport(await detectTpmDevice(opts.devDir))
  if (s.startsWith('/')) return new DeviceTransport(s)
  const colon = s.indexOf(':')
  const kind = colon < 0 ? s : s.slice(0, colon)
  const conf = colon < 0 ? '' : s.slice(colon + 1)
  const native = bridge !== 'pure' ? loadNativeTcti() : undefined
  if (bridge === 'native' && !native) throw new Error(`agent.tpm "${s}": ${nativeUnavailableReason()}`)
  if (native) return new NativeTctiTransport(s, native)
  if (kind === 'swtpm') {
    const { host, port } = parseTctiHostPort(conf)
    return new TcpTransport(host, port)
  }
  if (kind === 'device') return new DeviceTransport(conf || (await detectTpmDevice(opts.devDir)))
  throw new Error(`agent.tpm "${s}": the ${kind} TCTI needs the native bridge (${nativeUnavailableReason() ?? 'disabled'})`)
}
