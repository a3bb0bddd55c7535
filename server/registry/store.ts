/**
 * What the server and `vouch agent` need of an agent registry, whichever backend holds it: the
 * synchronous SQLite AgentRegistry (registry.ts, the embedded default) satisfies it as it is, the
 * PostgreSQL one (registry-pg.ts, shared by replicas) returns promises. Callers `await` every
 * result; new registry tables (use-once records, registration entries) can follow the same shape:
 * a method returning `T | Promise<T>` here, synchronous in the SQLite class, async in the other.
 */
import type { AgentRecord, AttestationRecord } from './registry.ts'

export type Awaitable<T> = T | Promise<T>

export interface AgentStore {
  get(spiffeId: string): Awaitable<AgentRecord | undefined>
  list(): Awaitable<AgentRecord[]>
  isBanned(spiffeId: string): Awaitable<boolean>
  /** records the attestation unless the agent is banned, once committed (batched) */
  commitAttestation(a: AttestationRecord): Promise<'recorded' | 'banned'>
  recordAttestation(a: AttestationRecord): Awaitable<void>
  /** false when there is no such agent */
  setBanned(spiffeId: string, banned: boolean): Awaitable<boolean>
  sequence(key: string): Awaitable<number>
  nextSequence(key: string): Awaitable<number>
  /** the last known readiness of the database (the PostgreSQL store refreshes it in the background) */
  ping(): boolean
  close(): Awaitable<void>
}
