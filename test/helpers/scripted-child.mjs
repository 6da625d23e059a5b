// A child process that speaks the bridge's line protocol, for in-process supervisor tests.
// argv: --exit-now CODE   exit at once with CODE
//       --ready           print @ready first
//       --ignore-exit     do not honour the bridge's `exit` line
//       --stderr N        write N numbered lines to stderr first
// stdin lines (`name id payload`): crash -> exit 1; echo -> @reply id payload;
// silent -> nothing; exit -> exit 0 (unless --ignore-exit); survive-then-exit -> report a
// runtime error it lived through, as Bridge.ahk's OnError does, then end with exit code 0
// after announcing `payload` (a JSON string) as its OnExit reason, as Bridge.ahk's OnExit does.
import { createInterface } from 'node:readline';

const argv = process.argv.slice(2);
const exitNow = argv.indexOf('--exit-now');
if (exitNow >= 0) process.exit(Number(argv[exitNow + 1]));
const stderrLines = argv.indexOf('--stderr');
if (stderrLines >= 0) for (let n = 1; n <= Number(argv[stderrLines + 1]); n++) process.stderr.write(`error line ${n}\n`);
if (argv.includes('--ready')) process.stdout.write('@ready\n');
process.stdout.write(`pid ${process.pid}\n`);
const ignoreExit = argv.includes('--ignore-exit');
// Keep running even when stdin closes (a script that ignores exit also ignores EOF).
const keepAlive = setInterval(() => {}, 1 << 30);
createInterface({ input: process.stdin }).on('line', (line) => {
  const [name, id, ...rest] = line.split(' ');
  const payload = rest.join(' ');
  if (name === 'crash') process.exit(1);
  if (name === 'echo') process.stdout.write(`@reply ${id} ${payload}\n`);
  if (name === 'survive-then-exit') {
    process.stderr.write('@runtime-error {"message":"handled","mode":"Command","what":"","file":"k.ahk","line":3,"extra":""}\n');
    process.stdout.write(`@pub exiting {"code":0,"reason":${payload}}\n`, () => process.exit(0));
  }
  if (name === 'exit' && !ignoreExit) {
    clearInterval(keepAlive);
    process.exit(0);
  }
});
