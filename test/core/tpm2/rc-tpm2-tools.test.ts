// decodeRc against an independent decoder: tpm2-tss's tpm2_rc_decode (tpm2-tools 5.4). For every
// format-zero error and warning and every format-one error number at handle/session/parameter
// positions, both must agree on (a) whether the code is a defined TPM 2.0 code, (b) warning vs
// error, and (c) the handle/session/parameter number it points at (Part 2 §6.6.3, Part 1 §39.4)
// (one documented tpm2-tss quirk: parameter numbers above 7).
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { decodeRc } from '../../../core/tpm2/rc.ts'

const codes: number[] = []
for (let n = 0; n < 0x80; n++) codes.push(0x100 + n, 0x900 + n) // VER1 errors, warnings
for (let e = 0; e < 0x40; e++) {
  for (const p of [1, 2, 15]) codes.push(0x80 + 0x40 + (p << 8) + e) // parameter p
  for (const h of [0, 1, 7]) codes.push(0x80 + (h << 8) + e) // handle h (0: unspecified)
  for (const s of [1, 7]) codes.push(0x80 + ((8 | s) << 8) + e) // session s
}

/** One shell for all codes (a process per code would take seconds). */
function toolsDecode(list: readonly number[]): Map<number, string> {
  const script = 'for rc in "$@"; do printf "%s\\t" "$rc"; tpm2_rc_decode "$rc" | head -1; done'
  const out = execFileSync('sh', ['-c', script, 'rc', ...list.map((c) => `0x${c.toString(16)}`)], { encoding: 'utf8', maxBuffer: 16 << 20 })
  const m = new Map<number, string>()
  for (const line of out.trim().split('\n')) {
    const [rc, text] = line.split('\t') as [string, string]
    m.set(Number.parseInt(rc, 16), text)
  }
  return m
}

describe('decodeRc agrees with tpm2_rc_decode', () => {
  const tools = toolsDecode(codes)

  it(`decodes all ${codes.length} sampled codes`, () => {
    expect(tools.size).toBe(codes.length)
  })

  it('the same codes are defined, with the same class and position', () => {
    const disagreements: string[] = []
    for (const rc of codes) {
      const t = tools.get(rc)!
      const d = decodeRc(rc)
      const toolsKnown = !/\(null\)|unknown error num|^tpm:0x/i.test(t)
      const oursKnown = !d.name.startsWith('TPM_RC_0x')
      if (toolsKnown !== oursKnown) disagreements.push(`0x${rc.toString(16)}: ours ${d.name}, tpm2_rc_decode "${t}"`)
      if (!toolsKnown || !oursKnown) continue
      if (t.startsWith('tpm:warn(')) {
        if (d.kind !== 'warning') disagreements.push(`0x${rc.toString(16)}: tools warning, ours ${d.kind}`)
        continue
      }
      if (t.startsWith('tpm:error(')) {
        if (d.kind !== 'error' || d.handle || d.session || d.parameter)
          disagreements.push(`0x${rc.toString(16)}: tools format-0 error, ours ${JSON.stringify(d)}`)
        continue
      }
      const pos = /^tpm:(handle|session|parameter)\((\d+|unk)\):/.exec(t)
      if (!pos) {
        disagreements.push(`0x${rc.toString(16)}: unexpected tools text "${t}"`)
        continue
      }
      const n = pos[2] === 'unk' ? undefined : Number(pos[2])
      const ours = pos[1] === 'handle' ? d.handle : pos[1] === 'session' ? d.session : d.parameter
      // Part 2 §6.6.3: parameter numbers are 4 bits (TPM_RC_1..TPM_RC_F, TPM_RC_N_MASK 0xF00);
      // tpm2-tss 3.2's decoder keeps only 3 of them (it prints parameter 7 for 0xfc1)
      if (pos[1] === 'parameter' && ours !== undefined && ours > 7) {
        if (ours !== ((rc >>> 8) & 0xf) || (ours & 7) !== n)
          disagreements.push(`0x${rc.toString(16)}: parameter ${ours} vs tools ${pos[2]}`)
        continue
      }
      if (ours !== n) disagreements.push(`0x${rc.toString(16)}: tools ${pos[1]} ${pos[2]}, ours ${JSON.stringify(d)}`)
    }
    expect(disagreements).toEqual([])
  })

  it('names the codes the agent reports with the descriptions tpm2-tss gives them', () => {
    const want: [number, string, RegExp][] = [
      [0x98e, 'TPM_RC_AUTH_FAIL', /HMAC check failed and DA counter incremented/],
      [0x9a2, 'TPM_RC_BAD_AUTH', /authorization failure without DA implications/],
      [0x1df, 'TPM_RC_INTEGRITY', /integrity check failed/],
      [0x902, 'TPM_RC_OBJECT_MEMORY', /out of memory for object contexts/],
      [0x922, 'TPM_RC_RETRY', /not able to start the command/],
      [0x18b, 'TPM_RC_HANDLE', /handle is not correct/],
      [0x1d5, 'TPM_RC_SIZE', /wrong size/],
    ]
    const t = toolsDecode(want.map(([rc]) => rc))
    for (const [rc, name, text] of want) {
      expect(decodeRc(rc).name).toBe(name)
      expect(t.get(rc)).toMatch(text)
    }
  })
})
