/**
 * The Workload API endpoint address (SPIFFE Workload Endpoint §4): `SPIFFE_ENDPOINT_SOCKET`, or an
 * address given explicitly.
 *
 * - `unix:///run/spire/agent.sock` (the spec's form: an absolute path, no authority), also
 *   `unix:/abs/path` and gRPC's `unix:relative/path`;
 * - `tcp://127.0.0.1:8081`: an IP literal and a port, nothing else.
 *
 * Refused with `ERR_WORKLOAD_ENDPOINT_INVALID` (conformance EP-4): an authority on `unix:`
 * (`unix://host/path`), a path on `tcp:`, a host name instead of an IP on `tcp:`, user info, a
 * query or a fragment, any other scheme.
 */
import { isIP } from 'node:net'
import { WorkloadError } from '../../core/errors.ts'

export const ENDPOINT_ENV = 'SPIFFE_ENDPOINT_SOCKET'

export type WorkloadEndpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly address: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly address: string }

function invalid(address: string, why: string): WorkloadError {
  return new WorkloadError('ERR_WORKLOAD_ENDPOINT_INVALID', `workload endpoint ${JSON.stringify(address.slice(0, 200))}: ${why}`)
}

export function parseWorkloadEndpoint(address: string): WorkloadEndpoint {
  if (address === '') throw invalid(address, 'is empty')
  if (address.length > 4096) throw invalid(address, 'is longer than 4096 characters')
  if (address.startsWith('unix:')) {
    const rest = address.slice('unix:'.length)
    if (/[?#]/.test(rest)) throw invalid(address, 'a unix socket URI must not include a query or a fragment')
    let path: string
    if (rest.startsWith('//')) {
      const afterSlashes = rest.slice(2)
      const slash = afterSlashes.indexOf('/')
      const authority = slash === -1 ? afterSlashes : afterSlashes.slice(0, slash)
      if (authority !== '') throw invalid(address, 'a unix socket URI must not include an authority (use unix:///absolute/path)')
      path = afterSlashes.slice(slash === -1 ? afterSlashes.length : slash)
    } else path = rest
    if (path === '' || path === '/') throw invalid(address, 'a unix socket URI must include a path')
    try {
      path = decodeURIComponent(path)
    } catch {
      throw invalid(address, 'the socket path is not valid percent-encoding')
    }
    if (path.includes('\0')) throw invalid(address, 'the socket path contains a NUL character')
    return { kind: 'unix', path, address }
  }
  if (address.startsWith('tcp:')) {
    let url: URL
    try {
      url = new URL(address)
    } catch {
      throw invalid(address, 'is not a valid URI')
    }
    if (!address.startsWith('tcp://')) throw invalid(address, 'a tcp socket URI must be tcp://IP:port')
    if (url.username !== '' || url.password !== '') throw invalid(address, 'a tcp socket URI must not include user info')
    if (url.pathname !== '' && url.pathname !== '/') throw invalid(address, 'a tcp socket URI must not include a path')
    if (address.endsWith('/')) throw invalid(address, 'a tcp socket URI must not include a path')
    if (url.search !== '' || url.hash !== '' || /[?#]/.test(address))
      throw invalid(address, 'a tcp socket URI must not include a query or a fragment')
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    if (isIP(host) === 0) throw invalid(address, 'the host of a tcp socket URI must be an IP address')
    if (url.port === '') throw invalid(address, 'a tcp socket URI must include a port')
    return { kind: 'tcp', host, port: Number(url.port), address }
  }
  throw invalid(address, 'the scheme must be unix: or tcp:')
}

/** The endpoint from `address` if given, else from `SPIFFE_ENDPOINT_SOCKET`. */
export function resolveWorkloadEndpoint(
  address?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkloadEndpoint {
  const value = address ?? env[ENDPOINT_ENV]
  if (value === undefined) {
    throw new WorkloadError('ERR_WORKLOAD_ENDPOINT_INVALID', `no workload endpoint: pass an address or set ${ENDPOINT_ENV}`)
  }
  return parseWorkloadEndpoint(value)
}
