import { Command, CommanderError } from 'commander';
import { registerDetect } from './commands/detect.js';
import { registerDetector } from './commands/detector.js';
import { registerEngine } from './commands/engine.js';
import { registerEval } from './commands/eval.js';
import { registerExperiment } from './commands/experiment.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerRuns } from './commands/runs.js';
import { registerServe } from './commands/serve.js';
import { registerTrain } from './commands/train.js';
import { registerWorker } from './commands/worker.js';
import { cliState } from './output.js';

/** Builds the `fakeface` command line; each command is a thin layer over the library. */
export function buildProgram(): Command {
  const program = new Command('fakeface')
    .description('Train GANs on face photos, generate fake faces, tell real faces from fake ones.')
    .option('--debug', 'print stack traces on errors')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (message, write) => write(`fakeface: ${message.replace(/^error: /, '')}`) })
    .hook('preAction', (command) => {
      cliState.debug = Boolean(command.optsWithGlobals().debug);
    });
  registerTrain(program);
  registerGenerate(program);
  registerDetect(program);
  registerDetector(program);
  registerRuns(program);
  registerEval(program);
  registerExperiment(program);
  registerExport(program);
  registerServe(program);
  registerWorker(program);
  registerEngine(program);
  for (const command of program.commands) command.configureOutput(program.configureOutput()).exitOverride();
  return program.exitOverride();
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    throw error;
  }
}
