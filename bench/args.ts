/** `npm run bench` options; a mistyped one is refused rather than silently ignored. */
export interface BenchOptions {
  /** Seconds measured per row. */
  readonly duration: number;
  /** Seconds of load before each measured row. */
  readonly warmup: number;
  readonly connections: number;
  /** Rounds; each column is the median over them. */
  readonly repeat: number;
  readonly json: boolean;
  readonly tomcat: boolean;
  /** Count syscalls per request instead of the table. */
  readonly strace: boolean;
  /** Requests per proxy under strace. */
  readonly straceRequests: number;
  /** Profile the proxies instead of the table. */
  readonly cpuProf: boolean;
  /** Count user-space instructions per request under callgrind instead of the table. */
  readonly instructions: boolean;
  /** Requests counted per proxy under callgrind. */
  readonly instructionRequests: number;
}

export const USAGE =
  'npm run bench -- [--duration 10] [--warmup 2] [--connections 50] [--repeat 1] [--json] [--no-tomcat] [--strace [--strace-requests 20000]] [--cpu-prof] [--instructions [--instruction-requests 4000]]';

const NUMBERS = { duration: 10, warmup: 2, connections: 50, repeat: 1, 'strace-requests': 20_000, 'instruction-requests': 4_000 } as const;
const FLAGS = ['json', 'no-tomcat', 'strace', 'cpu-prof', 'instructions'] as const;

export function parseArgs(argv: string[]): BenchOptions {
  const nums: Record<string, number> = { ...NUMBERS };
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if ((FLAGS as readonly string[]).includes(name)) flags.add(name);
    else if (name in NUMBERS) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a whole number ≥ 1, got '${argv[i] ?? ''}'`);
      nums[name] = n;
    } else throw new Error(`unknown option '${argv[i]}'\nusage: ${USAGE}`);
  }
  return {
    duration: nums.duration,
    warmup: nums.warmup,
    connections: nums.connections,
    repeat: nums.repeat,
    json: flags.has('json'),
    tomcat: !flags.has('no-tomcat'),
    strace: flags.has('strace'),
    straceRequests: nums['strace-requests'],
    cpuProf: flags.has('cpu-prof'),
    instructions: flags.has('instructions'),
    instructionRequests: nums['instruction-requests'],
  };
}
