import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { registerServe } from './serve.ts';
import { registerPartnerCommands } from './partners.ts';
import { registerCatalogCommands } from './catalog.ts';
import { registerProfileCommands } from './profiles.ts';
import { registerEsimCommands } from './esims.ts';
import { registerPricingCommands } from './pricing.ts';
import { registerWebhookCommands } from './webhooks.ts';
import { registerSeedCommands } from './seed.ts';

/** The whole command tree, without running anything (tests walk it). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('esimhub')
    .description('esimhub: a self-hostable eSIM wholesale platform (eSIM Access, eSIM Go and dataplans.io compatible)')
    .showHelpAfterError()
    .exitOverride();

  registerServe(program);
  registerPartnerCommands(program);
  registerCatalogCommands(program);
  registerProfileCommands(program);
  registerEsimCommands(program);
  registerPricingCommands(program);
  registerWebhookCommands(program);
  registerSeedCommands(program);
  return program;
}

/** Runs one command line (bin/esimhub.js); errors become a message on stderr and an exit code. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (error instanceof ConfigError) {
      process.stderr.write(`esimhub: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`esimhub: error: ${(error as Error).message}\n`);
      if (process.env.ESIMHUB_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
      process.exitCode = 1;
    }
  }
}
