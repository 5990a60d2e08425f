#!/usr/bin/env node
/**
 * The `mmufuzz` command line: the only place that touches argv, the file
 * system layout and the terminal. Usage errors print one line on stderr and
 * exit 2.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DEMO_OPTIONS, runDemo } from './demo';
import { DEFAULT_DIRECT_SHARE } from '../fuzz/engine';
import { type FuzzCliOptions, UsageError, runFuzz } from './fuzz-command';
import { runList } from './list-command';
import { runMinimize } from './minimize-command';
import { runRegress } from './regress-command';
import { runReplay } from './replay-command';
import { runTriage } from './triage-command';

function intArg(min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    const n = Number(v);
    if (n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function shareArg(v: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(v)) throw new InvalidArgumentError('expected a share between 0 and 1');
  return Number(v);
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function buildProgram(out: (s: string) => void, err: (s: string) => void, setExit: (code: number | Promise<number>) => void): Command {
  const program = new Command('mmufuzz')
    .description('coverage-guided interleaving fuzzer for an executable model of the KVM x86 MMU')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out(s.replace(/\n$/, '')),
      writeErr: (s) => err(s.replace(/\n+$/, '')),
    });

  program.command('list').description('harnesses, switches, variants, oracles').action(() => setExit(runList(out)));

  program
    .command('fuzz <harness> [corpus-dirs...]')
    .description('fuzz a harness; the first corpus directory is written')
    .option('--off <switch>', 'turn a switch off (repeatable)', collect, [])
    .option('--variant <switch:variant>', 'apply a claim variant (repeatable)', collect, [])
    .option('--seed <n>', 'seed of the run', intArg(0), 1)
    .option('--max-total-time <sec>', 'stop after this many seconds (0: no limit)', intArg(0), 0)
    .option('--runs <n>', 'stop after this many executions (0: no limit)', intArg(0), 0)
    .option('--workers <n>', 'worker processes sharing the corpus', intArg(1), 1)
    .option('--crashes <dir>', 'where crashes are stored', 'crashes')
    .addOption(new Option('--strategy <name>', 'schedule strategy').choices(['bytes', 'random', 'pct']).default('bytes'))
    .option('--no-feedback', 'no coverage feedback: fresh random inputs (a baseline)')
    .option('--no-minimize', 'keep crashes as found (by default each new one is also stored minimized)')
    .option('--stop-on-crash', 'stop at the first new crash', false)
    .option('--direct <share>', 'share of inputs with a conflict-directed schedule (0: none)', shareArg, DEFAULT_DIRECT_SHARE)
    .option('--json', 'one JSON object per line', false)
    .action((harness: string, dirs: string[], o: FuzzCliOptions) => setExit(runFuzz(harness, dirs, o, out, err)));

  program
    .command('replay <crash-file>')
    .description('re-execute a crash file, check its signature, print its trace')
    .option('--trace', 'print the swimlane trace', false)
    .option('--html <file>', 'write a standalone HTML timeline')
    .action((file: string, o: { trace: boolean; html?: string }) => setExit(runReplay(file, o, out)));

  program
    .command('minimize <crash-file>')
    .description('reduce a crash keeping its signature; writes the input, sidecar and trace')
    .option('-o, --output <file>', 'where to write (default: crash-<sha1> beside the input)')
    .action((file: string, o: { output?: string }) => setExit(runMinimize(file, o, out)));

  program
    .command('regress <crash-files...>')
    .description('add crashes to the regression suite with their expected outcome per switch setting')
    .option('--dir <dir>', 'the regression suite', 'test/regressions')
    .action((files: string[], o: { dir: string }) => setExit(runRegress(files, o.dir, out)));

  program
    .command('triage [crashes-dir]')
    .description('one row per signature: count, first seen, harness, switches, smallest reproducer')
    .option('--json', 'one JSON object', false)
    .action((dir: string | undefined, o: { json: boolean }) => setExit(runTriage(dir ?? 'crashes', o.json, out, err)));

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

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], out = (s: string) => void process.stdout.write(s + '\n'), err = (s: string) => void process.stderr.write(s + '\n')): Promise<number> {
  let code: number | Promise<number> = 0;
  const program = buildProgram(out, err, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return await code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      err(`mmufuzz: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  // A closed pipe (`mmufuzz ... | head`) ends the program quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  }, (e: unknown) => {
    process.stderr.write(`mmufuzz: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 3;
  });
}
