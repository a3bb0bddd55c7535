/**
 * Raw TPM 2.0 commands over swtpm's data port (toolchain-lab.md §8: raw framing works; no ctrl handshake
 * with --flags not-need-init,startup-clear). Used where tpm2-tools 5.4 cannot express the command,
 * e.g. TPM2_Certify with caller-chosen qualifyingData (tpm2_certify always sends 00ff55aa).
 * swtpm serves one client at a time: do not call while a tpm2-tools process is running on the same TPM.
 */
import { connect } from 'node:net'

const TPM_ST_SESSIONS = 0x8002
const TPM_CC_CERTIFY = 0x00000148
const TPM_RS_PW = 0x40000009
const TPM_ALG_NULL = 0x0010
const TPM_RC_RETRY = 0x922

/** Send one command, resolve with the complete response (size from the header). */
export function sendRaw(port: number, command: Uint8Array, host = '127.0.0.1'): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    const chunks: Buffer[] = []
    let total = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('raw tpm: timeout'))
    }, 30_000)
    socket.once('connect', () => socket.write(command))
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      total += chunk.length
      if (total >= 10) {
        const all = Buffer.concat(chunks)
        const size = all.readUInt32BE(2)
        if (total >= size) {
          clearTimeout(timer)
          socket.destroy()
          resolve(new Uint8Array(all.subarray(0, size)))
        }
      }
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      if (total < 10) reject(new Error('raw tpm: connection closed'))
    })
  })
}

/** TPM_RC of a response. */
export function responseCode(rsp: Uint8Array): number {
  return new DataView(rsp.buffer, rsp.byteOffset, rsp.byteLength).getUint32(6)
}

function passwordAuth(): number[] {
  // sessionHandle TPM_RS_PW, nonce empty, attributes continueSession, hmac (password) empty
  return [TPM_RS_PW >>> 24, (TPM_RS_PW >>> 16) & 0xff, (TPM_RS_PW >>> 8) & 0xff, TPM_RS_PW & 0xff, 0x00, 0x00, 0x01, 0x00, 0x00]
}

/**
 * TPM2_Certify (Part 3 §18.2) of `objectHandle` by `signHandle` (both persistent or loaded, empty
 * auth), with the given qualifyingData and inScheme TPM_ALG_NULL (the signer's own scheme).
 * Returns TPMS_ATTEST (TPM2B body) and the TPMT_SIGNATURE bytes.
 */
export async function certifyRaw(
  port: number,
  objectHandle: number,
  signHandle: number,
  qualifyingData: Uint8Array,
): Promise<{ attest: Uint8Array; sig: Uint8Array }> {
  const body: number[] = []
  const u16 = (v: number) => body.push((v >>> 8) & 0xff, v & 0xff)
  const u32 = (v: number) => body.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff)
  u32(objectHandle)
  u32(signHandle)
  const auth = [...passwordAuth(), ...passwordAuth()]
  u32(auth.length)
  body.push(...auth)
  u16(qualifyingData.length)
  body.push(...qualifyingData)
  u16(TPM_ALG_NULL)
  const cmd = new Uint8Array(10 + body.length)
  const view = new DataView(cmd.buffer)
  view.setUint16(0, TPM_ST_SESSIONS)
  view.setUint32(2, cmd.length)
  view.setUint32(6, TPM_CC_CERTIFY)
  cmd.set(body, 10)
  // TPM_RC_RETRY (0x922) happens (SPIRE retries 10 times, spec §7 step 9)
  let rsp = await sendRaw(port, cmd)
  for (let i = 0; i < 10 && responseCode(rsp) === TPM_RC_RETRY; i++) {
    await new Promise((r) => setTimeout(r, 100))
    rsp = await sendRaw(port, cmd)
  }
  const rc = responseCode(rsp)
  if (rc !== 0) throw new Error(`raw tpm: TPM2_Certify failed with TPM_RC 0x${rc.toString(16)}`)
  const rv = new DataView(rsp.buffer, rsp.byteOffset, rsp.byteLength)
  const parameterSize = rv.getUint32(10)
  const params = rsp.subarray(14, 14 + parameterSize)
  const attestSize = (params[0]! << 8) | params[1]!
  return { attest: params.slice(2, 2 + attestSize), sig: params.slice(2 + attestSize) }
}
