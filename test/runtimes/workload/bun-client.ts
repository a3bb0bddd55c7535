/**
 * Run by Bun (bun.test.ts): an X509Source and a JwtSource on the Workload API at argv[2]. Prints
 * one JSON line per step; the Node side drives the server between steps.
 */
import { X509Source, JwtSource } from '../../../runtimes/workload/index.ts'

const address = process.argv[2]!
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`)

const x509 = new X509Source({ address, backoff: { initialMs: 5, maxMs: 20 } })
await x509.ready
say({ step: 'ready', id: x509.getX509Svid().id.toString(), chain: x509.getX509Svid().certificates.length })
await new Promise<void>((resolve) => {
  const off = x509.onUpdate(() => {
    off()
    resolve()
  })
})
say({ step: 'rotated', id: x509.getX509Svid().id.toString() })
const jwt = new JwtSource({ address, backoff: { initialMs: 5, maxMs: 20 } })
await jwt.ready
const fetched = await jwt.fetchJwtSvid({ audience: 'bun-test' })
const validated = await jwt.validateJwtSvid(fetched.token, 'bun-test')
say({ step: 'jwt', id: validated.id.toString(), runtime: 'Bun' in globalThis ? 'bun' : 'not bun' })
x509.close()
jwt.close()
