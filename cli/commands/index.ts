import type { Command } from '../command.ts'
import { agentBan, agentList, agentShow, agentUnban } from './agent-registry.ts'
import { entryCreate, entryDelete, entryList, entryShow } from './entry-registry.ts'
import { serverCommand } from './server.ts'
import { agentCommand } from './agent.ts'
import { devidProvision } from './devid-provision.ts'
import { conformanceLimbo } from './conformance-limbo.ts'
import { credentialMake } from './credential-make.ts'
import { ekHash } from './ek-hash.ts'
import { policyCheck } from './policy-check.ts'
import { verifyChainCommand } from './verify-chain.ts'
import { verifyQuoteCommand } from './verify-quote.ts'
import { bundleShow } from './bundle-show.ts'
import { verifyJwtSvidCommand } from './verify-jwt-svid.ts'
import { verifyX509SvidCommand } from './verify-x509-svid.ts'

// One line per command module; keep sorted by path.
export const commands: Command[] = []
commands.push(conformanceLimbo)
commands.push(credentialMake)
commands.push(ekHash)
commands.push(policyCheck)
commands.push(verifyChainCommand)
commands.push(verifyQuoteCommand)
commands.push(bundleShow)
commands.push(verifyJwtSvidCommand)
commands.push(verifyX509SvidCommand)
commands.push(agentList, agentShow, agentBan, agentUnban)
commands.push(entryCreate, entryList, entryShow, entryDelete)
commands.push(serverCommand)
commands.push(agentCommand)
commands.push(devidProvision)
