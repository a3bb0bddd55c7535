// Object commands (Part 3 §12, §28): CreatePrimary, Create, Load, LoadExternal, ReadPublic, FlushContext, EvictControl.
import { ByteWriter } from '../../bytes/writer.ts'
import type { TPMT_PUBLIC } from '../public.ts'
import { TPM_CC } from './codes.ts'
import { type AuthCommand, EMPTY, makeCommand, type TpmCommand } from './frame.ts'
import { readTicket, readTpm2bPublic, sensitiveCreate, type Ticket } from './structures.ts'

export interface CreatePrimaryResult {
  readonly handle: number
  readonly outPublic: TPMT_PUBLIC
  readonly creationData: Uint8Array
  readonly creationHash: Uint8Array
  readonly creationTicket: Ticket
  readonly name: Uint8Array
}

export interface CreateArgs {
  /** TPMT_PUBLIC template bytes (no size prefix) */
  readonly template: Uint8Array
  /** userAuth of the new object */
  readonly userAuth?: string | Uint8Array
  readonly outsideInfo?: Uint8Array
}

function createParams(a: CreateArgs): Uint8Array {
  return new ByteWriter()
    .bytes(sensitiveCreate(a.userAuth ?? ''))
    .sized(a.template)
    .sized(a.outsideInfo ?? EMPTY)
    .u32(0) // creationPCR: empty TPML_PCR_SELECTION
    .finish()
}

/** TPM2_CreatePrimary (Part 3 §24.1) under `primaryHandle` (a hierarchy) authorized by `auth`. */
export function createPrimary(primaryHandle: number, auth: AuthCommand, args: CreateArgs): TpmCommand<CreatePrimaryResult> {
  return makeCommand('CreatePrimary', TPM_CC.CreatePrimary, [primaryHandle], [auth], createParams(args), 1, (h, r) => ({
    handle: h[0]!,
    outPublic: readTpm2bPublic(r, 'outPublic'),
    creationData: r.sized('creationData'),
    creationHash: r.sized('creationHash'),
    creationTicket: readTicket(r, 'creationTicket'),
    name: r.sized('name'),
  }))
}

export interface CreateResult {
  /** TPM2B_PRIVATE content (no size prefix) */
  readonly outPrivate: Uint8Array
  readonly outPublic: TPMT_PUBLIC
}

/** TPM2_Create (Part 3 §12.1) of an ordinary object under the loaded `parentHandle`. */
export function create(parentHandle: number, auth: AuthCommand, args: CreateArgs): TpmCommand<CreateResult> {
  return makeCommand('Create', TPM_CC.Create, [parentHandle], [auth], createParams(args), 0, (_h, r) => {
    const outPrivate = r.sized('outPrivate')
    const outPublic = readTpm2bPublic(r, 'outPublic')
    r.sized('creationData')
    r.sized('creationHash')
    readTicket(r, 'creationTicket')
    return { outPrivate, outPublic }
  })
}

/** TPM2_Load (Part 3 §12.2): inPrivate / inPublic are the TPM2B contents (no size prefix). */
export function load(
  parentHandle: number,
  auth: AuthCommand,
  inPrivate: Uint8Array,
  inPublic: Uint8Array,
): TpmCommand<{ handle: number; name: Uint8Array }> {
  const params = new ByteWriter().sized(inPrivate).sized(inPublic).finish()
  return makeCommand('Load', TPM_CC.Load, [parentHandle], [auth], params, 1, (h, r) => ({ handle: h[0]!, name: r.sized('name') }))
}

/**
 * TPM2_LoadExternal (Part 3 §12.3): an object the TPM did not create. `inPrivate` is a TPMT_SENSITIVE
 * (no size prefix), or empty to load the public area only; `inPublic` a TPMT_PUBLIC. No session.
 */
export function loadExternal(
  inPrivate: Uint8Array,
  inPublic: Uint8Array,
  hierarchy: number,
): TpmCommand<{ handle: number; name: Uint8Array }> {
  const params = new ByteWriter().sized(inPrivate).sized(inPublic).u32(hierarchy).finish()
  return makeCommand('LoadExternal', TPM_CC.LoadExternal, [], [], params, 1, (h, r) => ({ handle: h[0]!, name: r.sized('name') }))
}

export interface ReadPublicResult {
  readonly outPublic: TPMT_PUBLIC
  readonly name: Uint8Array
  readonly qualifiedName: Uint8Array
}

/** TPM2_ReadPublic (Part 3 §12.4). */
export function readPublic(objectHandle: number): TpmCommand<ReadPublicResult> {
  return makeCommand('ReadPublic', TPM_CC.ReadPublic, [objectHandle], [], EMPTY, 0, (_h, r) => ({
    outPublic: readTpm2bPublic(r, 'outPublic'),
    name: r.sized('name'),
    qualifiedName: r.sized('qualifiedName'),
  }))
}

/** TPM2_FlushContext (Part 3 §28.4): the handle is a parameter, not in the handle area. */
export function flushContext(flushHandle: number): TpmCommand<void> {
  return makeCommand('FlushContext', TPM_CC.FlushContext, [], [], new ByteWriter().u32(flushHandle).finish(), 0, () => undefined)
}

/** TPM2_EvictControl (Part 3 §28.5): persist `objectHandle` at `persistentHandle`, or evict a persistent one. */
export function evictControl(authHandle: number, auth: AuthCommand, objectHandle: number, persistentHandle: number): TpmCommand<void> {
  return makeCommand(
    'EvictControl',
    TPM_CC.EvictControl,
    [authHandle, objectHandle],
    [auth],
    new ByteWriter().u32(persistentHandle).finish(),
    0,
    () => undefined,
  )
}

/** TPM2_HierarchyChangeAuth (Part 3 §24.8): set a hierarchy's authValue (tests, provisioning). */
export function hierarchyChangeAuth(
  authHandle: number,
  newAuth: string,
  auth: AuthCommand = { sessionHandle: 0x40000009, sessionAttributes: 1 },
): TpmCommand<void> {
  const params = new ByteWriter().sized(new TextEncoder().encode(newAuth)).finish()
  return makeCommand('HierarchyChangeAuth', TPM_CC.HierarchyChangeAuth, [authHandle], [auth], params, 0, () => undefined)
}
