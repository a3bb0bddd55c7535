// `vouch` from the sources (no dist/ build needed): what test/e2e/workload-api.test.ts runs as the
// agent process, `node --import tsx test/e2e/workload-api/vouch.ts agent --config FILE`.
import { main } from '../../../cli/main.ts'

process.exitCode = await main(process.argv.slice(2))
