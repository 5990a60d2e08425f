#!/usr/bin/env node
/**
 * The `mmufuzz` command line: the only place that touches argv, the file
 * system layout and the terminal. Usage errors print one line on stderr and
 * exit 2.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DEMO_OPTIONS, runDemo } from './demo';

function intArg(min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    const n = Number(v);
    if (n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

export function buildProgram(out: (s: string) => void, setExit: (code: number) => void): Command {
  const program = new Command('mmufuzz')
    .description('coverage-guided interleaving fuzzer for an executable model of the KVM x86 MMU')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out(s.replace(/\n$/, '')),
      writeErr: (s) => process.stderr.write(s.split('\n').filter((l) => l.trim() !== '')[0] + '\n'),
    });

  program
    .command('demo')
    .description('run the runtime demo: find the lost update of a toy two-thread counter and replay it')
    .addOption(new Option('--strategy <name>', 'decision source').choices(['random', 'pct', 'dfs', 'bytes']).default(DEFAULT_DEMO_OPTIONS.strategy))
    .option('--seed <n>', 'seed of the random strategies', intArg(0), DEFAULT_DEMO_OPTIONS.seed)
    .option('--executions <n>', 'at most this many executions', intArg(1), DEFAULT_DEMO_OPTIONS.executions)
    .option('--threads <n>', 'incrementing threads', intArg(2), DEFAULT_DEMO_OPTIONS.threads)
    .action((opts: { strategy: 'random' | 'pct' | 'dfs' | 'bytes'; seed: number; executions: number; threads: number }) => {
      setExit(runDemo(opts, out));
    });
  return program;
}

export function main(argv: string[]): number {
  let code = 0;
  const program = buildProgram((s) => process.stdout.write(s + '\n'), (c) => (code = c));
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    throw e;
  }
  return code;
}

if (require.main === module) {
  // A closed pipe (`mmufuzz ... | head`) ends the program quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = main(process.argv.slice(2));
}
