import { describe, expect, it } from 'vitest'
import { WorkloadError } from '../../../core/errors.ts'
import { parseWorkloadEndpoint, resolveWorkloadEndpoint } from '../../../runtimes/workload/endpoint.ts'

function refused(address: string): string {
  try {
    parseWorkloadEndpoint(address)
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError)
    expect((e as WorkloadError).code).toBe('ERR_WORKLOAD_ENDPOINT_INVALID')
    return (e as WorkloadError).message
  }
  throw new Error(`accepted ${address}`)
}

describe('Workload API endpoint address (SPIFFE Workload Endpoint §4)', () => {
  it('accepts unix:///abs, unix:/abs and gRPC’s unix:relative forms', () => {
    expect(parseWorkloadEndpoint('unix:///run/spire/agent.sock')).toMatchObject({ kind: 'unix', path: '/run/spire/agent.sock' })
    expect(parseWorkloadEndpoint('unix:/run/vouch/agent.sock')).toMatchObject({ kind: 'unix', path: '/run/vouch/agent.sock' })
    expect(parseWorkloadEndpoint('unix:agent.sock')).toMatchObject({ kind: 'unix', path: 'agent.sock' })
    expect(parseWorkloadEndpoint('unix:///tmp/a%20b.sock')).toMatchObject({ path: '/tmp/a b.sock' })
  })

  it('EP-3: accepts tcp://IP:port (IPv4 and IPv6)', () => {
    expect(parseWorkloadEndpoint('tcp://127.0.0.1:8081')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 8081 })
    expect(parseWorkloadEndpoint('tcp://[::1]:8081')).toMatchObject({ kind: 'tcp', host: '::1', port: 8081 })
  })

  it('EP-4: refuses an authority on unix: and a path on tcp:', () => {
    expect(refused('unix://host/abs/path')).toMatch(/must not include an authority/)
    expect(refused('tcp://127.0.0.1:8081/path')).toMatch(/must not include a path/)
    expect(refused('tcp://127.0.0.1:8081/')).toMatch(/must not include a path/)
  })

  it('refuses what the spec leaves out: other schemes, host names, user info, queries, fragments, no port, no path', () => {
    expect(refused('')).toMatch(/is empty/)
    expect(refused('/run/agent.sock')).toMatch(/scheme must be unix: or tcp:/)
    expect(refused('http://127.0.0.1:80')).toMatch(/scheme/)
    expect(refused('unix://')).toMatch(/must include a path/)
    expect(refused('unix:')).toMatch(/must include a path/)
    expect(refused('unix:///a.sock?x=1')).toMatch(/query or a fragment/)
    expect(refused('unix:///a.sock#f')).toMatch(/query or a fragment/)
    expect(refused('unix:///a%ZZ')).toMatch(/percent-encoding/)
    expect(refused('unix:///a%00b')).toMatch(/NUL/)
    expect(refused('tcp://localhost:8081')).toMatch(/must be an IP address/)
    expect(refused('tcp://u:p@127.0.0.1:8081')).toMatch(/user info/)
    expect(refused('tcp://127.0.0.1')).toMatch(/must include a port/)
    expect(refused('tcp://127.0.0.1:8081?x')).toMatch(/query or a fragment/)
    expect(refused('tcp:127.0.0.1:8081')).toMatch(/tcp:\/\/IP:port/)
    expect(refused(`unix:///${'a'.repeat(5000)}`)).toMatch(/longer than 4096/)
  })

  it('EP-1: falls back to SPIFFE_ENDPOINT_SOCKET, and says so when it is unset', () => {
    expect(resolveWorkloadEndpoint(undefined, { SPIFFE_ENDPOINT_SOCKET: 'unix:///x.sock' })).toMatchObject({ path: '/x.sock' })
    expect(resolveWorkloadEndpoint('unix:///y.sock', { SPIFFE_ENDPOINT_SOCKET: 'unix:///x.sock' })).toMatchObject({ path: '/y.sock' })
    expect(() => resolveWorkloadEndpoint(undefined, {})).toThrow(/set SPIFFE_ENDPOINT_SOCKET/)
  })
})
