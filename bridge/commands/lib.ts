/**
 * `bridge lib export [DIR]`: write the AutoHotkey libraries this version ships into a
 * folder, for scripts to `#Include`. bridge.exe carries them inside itself, so this is
 * how they reach a PC without the npm package. A library file that differs from this
 * version's is left alone unless `--force`, and then nothing is written, so a refusal
 * never leaves the folder half old, half new.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../cli-error.js';
import { makeFolder } from '../make-folder.js';
import { listPackaged, readPackaged } from '../packaged-files.js';

export interface LibExportFlags {
  force?: boolean;
}

const LIB_FOLDER = 'scripts/lib';

/** The current bytes of `file`, or null when there is no such file. */
async function existing(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') throw new CliError(`${file} is a folder; the library file ${path.basename(file)} cannot be written there`);
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function ensureFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    // Not there, or a file on the way: making it says which.
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw new CliError(`cannot use ${dir}: ${err.message}`);
  });
  if (info === null) {
    await makeFolder(dir).catch((err: Error) => {
      throw new CliError(`cannot create ${dir}: ${err.message}`);
    });
  } else if (!info.isDirectory()) {
    throw new CliError(`${dir} is a file, not a folder; give the folder to write the libraries into (e.g. lib)`);
  }
}

export async function runLibExport(dir: string, flags: LibExportFlags): Promise<void> {
  const names = (await listPackaged(LIB_FOLDER)).filter((n) => n.toLowerCase().endsWith('.ahk'));
  if (names.length === 0) throw new CliError('this copy of ahk-bridge ships no AutoHotkey libraries (scripts/lib is missing from its package)');
  await ensureFolder(dir);
  const plan: { name: string; file: string; body: Buffer; state: 'new' | 'same' | 'differs' }[] = [];
  for (const name of names) {
    const body = await readPackaged(`${LIB_FOLDER}/${name}`);
    if (body === null) throw new CliError(`the library ${name} is listed but missing from this copy of ahk-bridge`);
    const file = path.join(dir, name);
    const now = await existing(file);
    plan.push({ name, file, body, state: now === null ? 'new' : now.equals(body) ? 'same' : 'differs' });
  }
  const differing = plan.filter((p) => p.state === 'differs');
  if (differing.length > 0 && !flags.force) {
    throw new CliError(
      `${differing.map((p) => p.file).join(', ')} ${differing.length === 1 ? 'differs' : 'differ'} from this version's library; nothing was written. ` +
        'Keep your copy, or run again with --force to replace it',
    );
  }
  for (const p of plan) {
    if (p.state === 'same') {
      process.stdout.write(`unchanged ${p.file}\n`);
      continue;
    }
    await writeFile(p.file, p.body).catch((err: Error) => {
      throw new CliError(`cannot write ${p.file}: ${err.message}`);
    });
    process.stdout.write(`${p.state === 'new' ? 'wrote' : 'replaced'} ${p.file}\n`);
  }
  // AutoHotkey runs on Windows: a folder below this one is shown the way a script writes it.
  const rel = path.relative(process.cwd(), path.resolve(dir));
  const below = rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
  const include = below ? `${rel.split(path.sep).join('\\')}\\Bridge.ahk` : path.join(path.resolve(dir), 'Bridge.ahk');
  process.stdout.write(`scripts include them with: #Include ${include}\n`);
}
