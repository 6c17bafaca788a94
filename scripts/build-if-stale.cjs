'use strict';
/* global process, console, __dirname, require, module */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS: it runs before anything is compiled */
/**
 * `npm start`'s prestart: builds dist/ only when it is missing or older than
 * what it is built from, so a second start does not wait for a compile.
 *
 * The last build's time is dist/.build-stamp (written here, set to when that
 * build began, so an edit made during the build counts as newer), else the
 * time of dist/src/main.js (a build made with `npm run build`). Inputs are
 * the files and directories under src/, migrations/ and bench/ (a directory's
 * time changes when a file is added, removed or renamed in it) and the build
 * configuration files. Spec files are not built and do not count.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const INPUT_DIRS = ['src', 'migrations', 'bench'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];
const STAMP = path.join('dist', '.build-stamp');
const MAIN = path.join('dist', 'src', 'main.js');

/**
 * Why dist/ must be built again, or null when it is current. Pure.
 * @param {number | null} builtAtMs time of the last build, null when there is none
 * @param {Array<{ path: string, mtimeMs: number }>} inputs
 * @returns {string | null}
 */
function staleReason(builtAtMs, inputs) {
  if (builtAtMs === null) return 'no build yet';
  const newer = inputs.filter((i) => i.mtimeMs > builtAtMs);
  if (newer.length === 0) return null;
  return newer.length === 1 ? `${newer[0].path} changed` : `${newer[0].path} and ${newer.length - 1} more changed`;
}

/** @returns {Array<{ path: string, mtimeMs: number }>} */
function scanInputs(root) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(root, rel);
    let st;
    try {
      st = fs.statSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      out.push({ path: `${rel}/`, mtimeMs: st.mtimeMs });
      for (const name of fs.readdirSync(abs)) walk(path.join(rel, name));
    } else if (!/\.spec(-helpers)?\.ts$/.test(rel)) {
      out.push({ path: rel, mtimeMs: st.mtimeMs });
    }
  };
  for (const d of INPUT_DIRS) walk(d);
  for (const f of INPUT_FILES) walk(f);
  return out;
}

/** @returns {number | null} */
function builtAt(root) {
  if (!fs.existsSync(path.join(root, MAIN))) return null;
  for (const f of [STAMP, MAIN]) {
    try {
      return fs.statSync(path.join(root, f)).mtimeMs;
    } catch {
      // next
    }
  }
  return null;
}

function main() {
  const reason = staleReason(builtAt(ROOT), scanInputs(ROOT));
  if (reason === null) {
    console.log('dist/ is up to date');
    return;
  }
  console.log(`building dist/ (${reason})`);
  const started = new Date();
  const npm = process.env.npm_execpath;
  const r = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build', '--silent'], {
        cwd: ROOT,
        stdio: 'inherit',
        shell: process.platform === 'win32',
      });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const stamp = path.join(ROOT, STAMP);
  fs.writeFileSync(stamp, `${started.toISOString()}\n`);
  fs.utimesSync(stamp, started, started);
}

module.exports = { staleReason, scanInputs, builtAt };

if (require.main === module) main();
