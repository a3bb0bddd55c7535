import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'

const v = (p: string) => new URL(`../../vectors/real-tpm/google-go-tpm-tools/derived/gce-cos-85-nonce9009/${p}`, import.meta.url).pathname
const tmp = mkdtempSync(join(tmpdir(), 'vouch-cli-quote-'))

function capture() {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err }
}

// PCR values of the GCE quote, concatenated in selection order (what tpm2_quote -F values writes)
const expected = JSON.parse(readFileSync(v('expected.json'), 'utf8'))
const pcrs = expected.quotes.sha256.pcrs as Record<string, string>
const pcrFile = join(tmp, 'pcrs.bin')
writeFileSync(pcrFile, Buffer.concat(Object.keys(pcrs).sort((a, b) => +a - +b).map((k) => Buffer.from(pcrs[k]!, 'hex'))))
const all = 'sha256:' + Array.from({ length: 24 }, (_, i) => i).join(',')
const argv = (nonce: string, selection = all) => ['verify', 'quote', '--ak', v('ak_pub.tpmt_public.bin'), '--attest', v('quote_sha256.tpms_attest.bin'), '--signature', v('quote_sha256.tpmt_signature.bin'), '--nonce', nonce, '--pcrs', pcrFile, '--selection', selection]

describe('vouch verify quote', () => {
  it('exit 0 and a JSON verdict for a real GCE quote', async () => {
    const c = capture()
    expect(await main([...argv('9009'), '--output', 'json'], c.io)).toBe(0)
    expect(JSON.parse(c.out[0]!)).toMatchObject({ valid: true, selection: all })
  })

  it('exit 1 naming the failure for a wrong nonce', async () => {
    const c = capture()
    expect(await main([...argv('9010'), '--output', 'json'], c.io)).toBe(1)
    expect(JSON.parse(c.out[0]!).error.code).toBe('ERR_QUOTE_NONCE_MISMATCH')
  })

  it('exit 1 when --selection differs from the quoted selection', async () => {
    const c = capture()
    expect(await main(argv('9009', 'sha256:0,1'), c.io)).toBe(1)
    expect(c.out.join('\n')).toMatch(/ERR_QUOTE_PCR_SELECTION/)
  })

  it('exit 2 for usage errors and unreadable files', async () => {
    const c = capture()
    expect(await main(['verify', 'quote', '--ak', '/nonexistent', '--attest', 'x', '--signature', 'y', '--nonce', '00', '--pcrs', 'z', '--selection', 'sha256:0'], c.io)).toBe(2)
    expect(c.err.join('\n')).toMatch(/read AK \/nonexistent: no such file or directory/)
    expect(await main(argv('xyz'), capture().io)).toBe(2)
  })
})
