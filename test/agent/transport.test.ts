// Transports: SPIRE's device auto-detection on fake /dev folders, TCTI parsing, and the native
// libtss2-tctildr bridge against the pure raw-TCP transport on one live swtpm.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { TPM_RH, EK_CERT_NV_INDEX } from '../../core/tpm2/constants.ts'
import { detectTpmDevice, DeviceTransport, parseTctiHostPort, TcpTransport } from '../../agent/tpm/transport.ts'
import { loadNativeTcti, NativeTctiTransport } from '../../agent/tpm/native.ts'
import { openTransport } from '../../agent/tpm/open.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { AgentTpmSession } from '../../agent/tpm/session.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

async function fakeDev(names: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-fakedev-'))
  for (const n of names) await writeFile(join(dir, n), '')
  return dir
}

describe('TPM device auto-detection (SPIRE rule)', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const cases: [string[], string | RegExp][] = [
    [['tpm0', 'tpmrm0', 'null'], 'tpmrm0'],
    [['tpm0', 'tty1'], 'tpm0'],
    [['tpmrm3'], 'tpmrm3'],
    [['tpmrm0', 'tpmrm1', 'tpm0'], /^more than one possible TPM device was found/],
    [['tpm0', 'tpm1'], /^more than one possible TPM device was found/],
    [['tpmrm0x', 'tpm', 'xtpm0'], /not found/],
    [[], /not found/],
  ]
  for (const [names, want] of cases) {
    it(`[${names.join(', ')}] -> ${String(want)}`, async () => {
      const dir = await fakeDev(names)
      dirs.push(dir)
      if (typeof want === 'string') expect(await detectTpmDevice(dir)).toBe(join(dir, want))
      else await expect(detectTpmDevice(dir)).rejects.toThrow(want)
    })
  }
  it('a missing /dev folder is "not found"', async () => {
    await expect(detectTpmDevice('/nonexistent-vouch-dev')).rejects.toThrow(/not found/)
  })
  it('openTransport("") uses the detected device', async () => {
    const dir = await fakeDev(['tpmrm0'])
    dirs.push(dir)
    const t = await openTransport('', { devDir: dir })
    expect(t).toBeInstanceOf(DeviceTransport)
    expect(t.description).toBe(`device:${join(dir, 'tpmrm0')}`)
  })
})

describe('TCTI strings', () => {
  it('parses swtpm host/port', () => {
    expect(parseTctiHostPort('host=10.0.0.1,port=2400')).toEqual({ host: '10.0.0.1', port: 2400 })
    expect(parseTctiHostPort('')).toEqual({ host: '127.0.0.1', port: 2321 })
    expect(() => parseTctiHostPort('port=abc')).toThrow(/not a port/)
    expect(() => parseTctiHostPort('foo=1')).toThrow(/not host/)
  })
  it('pure mode refuses TCTIs that need the bridge', async () => {
    await expect(openTransport('tabrmd:', { bridge: 'pure' })).rejects.toThrow(/needs the native bridge/)
  })
})

describe('native bridge vs pure TCP on one swtpm', () => {
  let tpm: Swtpm
  beforeAll(async () => {
    tpm = await startSwtpm({ name: 'bridge' })
  }, 30_000)
  afterAll(async () => {
    await tpm?.stop()
  })

  it('the addon was built by the install step and loads', () => {
    expect(loadNativeTcti()).toBeDefined()
  })

  async function snapshot(c: TpmClient) {
    const srk = await c.run(cmd.createPrimary(TPM_RH.OWNER, cmd.passwordAuth(''), { template: cmd.srkTemplateRsa() }))
    await c.flush(srk.handle)
    const ek = await c.run(cmd.createPrimary(TPM_RH.ENDORSEMENT, cmd.passwordAuth(''), { template: cmd.ekTemplateEcc() }))
    const rp = await c.run(cmd.readPublic(ek.handle))
    await c.flush(ek.handle)
    const cert = await c.readNv(EK_CERT_NV_INDEX.RSA2048)
    const rnd = await c.run(cmd.getRandom(32))
    const err = await c.run(cmd.readPublic(0x81000099)).catch((e: Error) => e.message)
    // timing: 50 GetCapability round trips
    const t0 = performance.now()
    for (let i = 0; i < 50; i++) await c.run(cmd.getCapability(cmd.TPM_CAP.TPM_PROPERTIES, cmd.TPM_PT.NV_BUFFER_MAX, 1))
    const perCallMs = (performance.now() - t0) / 50
    return { srk: srk.outPublic.raw, ek: rp.name, cert, rndLen: rnd.length, err, perCallMs }
  }

  it('swtpm: TCTI through the bridge gives the same results as the pure socket', async () => {
    const pure = new TpmClient(new TcpTransport('127.0.0.1', tpm.port))
    const a = await snapshot(pure)
    await pure.close()
    const t = await openTransport(tpm.tcti, { bridge: 'native' })
    expect(t).toBeInstanceOf(NativeTctiTransport)
    const nat = new TpmClient(t)
    const b = await snapshot(nat)
    // the full agent flow over the bridge
    const s = await AgentTpmSession.open(nat, {})
    expect((await s.readEkCertificate()).length).toBeGreaterThan(500)
    await s.close()
    await nat.close()
    expect(b.srk).toEqual(a.srk)
    expect(b.ek).toEqual(a.ek)
    expect(b.cert).toEqual(a.cert)
    expect(b.rndLen).toBe(32)
    expect(b.err).toBe(a.err)
    expect(a.err).toMatch(/TPM2_ReadPublic failed: TPM_RC_HANDLE/)
    console.log(
      `per-command round trip (GetCapability, swtpm): pure TCP ${a.perCallMs.toFixed(3)} ms, native TCTI ${b.perCallMs.toFixed(3)} ms`,
    )
  }, 30_000)

  it('openTransport("swtpm:...") picks native by default and pure on request', async () => {
    const n = await openTransport(tpm.tcti)
    expect(n.description).toMatch(/native libtss2-tctildr/)
    await n.close()
    const p = await openTransport(tpm.tcti, { bridge: 'pure' })
    expect(p.description).toBe(`tcp:127.0.0.1:${tpm.port}`)
    await p.close()
  })
})
