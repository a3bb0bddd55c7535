/** fast-check arbitraries for the Workload API messages (valid values of each message type). */
import fc from 'fast-check'
import type { JwtSvidMessage, ValidateJwtSvidResponse } from '../../../core/workload/jwt-svid.ts'
import type { JsonObject, JsonValue } from '../../../core/workload/struct.ts'
import type { X509SvidMessage } from '../../../core/workload/x509-svid.ts'

const text = fc.string({ unit: 'binary', maxLength: 16 })
const bytes = fc.uint8Array({ maxLength: 32 })
const bytesMap = fc.array(fc.tuple(text, bytes), { maxLength: 4 }).map((entries) => new Map(entries))

export const x509Svid: fc.Arbitrary<X509SvidMessage> = fc.record({
  spiffeId: text,
  x509Svid: bytes,
  x509SvidKey: bytes,
  bundle: bytes,
  hint: text,
})
export const x509SvidResponse = fc.record({
  svids: fc.array(x509Svid, { maxLength: 3 }),
  crl: fc.array(bytes, { maxLength: 2 }),
  federatedBundles: bytesMap,
})
export const x509BundlesResponse = fc.record({ crl: fc.array(bytes, { maxLength: 2 }), bundles: bytesMap })
export const jwtSvidRequest = fc.record({ audience: fc.array(text, { maxLength: 3 }), spiffeId: text })
export const jwtSvid: fc.Arbitrary<JwtSvidMessage> = fc.record({ spiffeId: text, svid: text, hint: text })
export const jwtSvidResponse = fc.record({ svids: fc.array(jwtSvid, { maxLength: 3 }) })
export const jwtBundlesResponse = fc.record({ bundles: bytesMap })
export const validateJwtSvidRequest = fc.record({ audience: text, svid: text })

/** JSON values as a Struct carries them: numbers are doubles (no -0: JSON has none either). */
export const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noDefaultInfinity: false }).filter((d) => !Object.is(d, -0)),
    text,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(text, tie('value'), { maxKeys: 3 }),
  ),
})).value
export const jsonObject = fc.dictionary(text, jsonValue, { maxKeys: 4 }) as fc.Arbitrary<JsonObject>
export const validateJwtSvidResponse: fc.Arbitrary<ValidateJwtSvidResponse> = fc.record({
  spiffeId: text,
  claims: fc.option(jsonObject, { nil: undefined }),
})
