/**
 * The gateway exactly as src/main.ts starts it, with the pre-trade checks
 * (pipeline and rate limits) switched off: the benchmark's reference for
 * what the checks cost. Never a way to run the gateway for real.
 */
import 'reflect-metadata';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { PreTradeSwitch } from '../src/risk/pipeline/pre-trade-switch';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  app.get(PreTradeSwitch, { strict: false }).disableForBenchmark();
  await app.listen(config.port);
}

main().catch((err: unknown) => {
  process.stderr.write(`unchecked gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
