/**
 * The whole production shape: the example Worker on workerd holds a workspace in a Durable Object;
 * `dofs mount --sync` serves a replica through FUSE and keeps it in sync. Files written with plain
 * shell tools on the mount reach the Durable Object, and files PUT to (or changed or removed on) the
 * Durable Object show on the mount within a sync round, whatever the kernel cached.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedFetch, type DevServer, STARTUP_MS, startDev } from '../support/wrangler-dev.ts';
import { type Daemon, ensureUnmounted, expectFsckClean, makeTemp, removeTemp, sh, startDaemon } from './helpers.ts';

const TOKEN = 'fuse-sync-token';
const authed = authorizedFetch(TOKEN);

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('a FUSE mount kept in sync with a Durable Object', () => {
  let dir: string;
  let server: DevServer | undefined;
  let daemon: Daemon | undefined;
  const mountpoint = () => join(dir, 'mnt');

  beforeAll(async () => {
    dir = await makeTemp('dofs-fuse-sync-');
    server = await startDev(join(dir, 'wrangler'), { API_TOKEN: TOKEN });
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    await daemon?.stop();
    await ensureUnmounted(mountpoint());
    await server?.stop();
    await removeTemp(dir);
  }, 60_000);

  it('edits made with shell tools on the mount and over HTTP on the Durable Object meet', async () => {
    const url = `${server?.url}/ws/mounted/sync`;
    await authed(`${server?.url}/ws/mounted/fs/from-do/readme.txt`, {
      method: 'PUT',
      body: 'written on the Durable Object\n',
    });
    daemon = await startDaemon(join(dir, 'replica.db'), mountpoint(), { args: ['--sync', url, '--token', TOKEN] });

    const pulled = await eventually(
      () => sh(`cat '${mountpoint()}/from-do/readme.txt'`, { allowFail: true }),
      (out) => out.stdout === 'written on the Durable Object\n',
    );
    expect(pulled.stdout).toBe('written on the Durable Object\n');

    await sh(
      `mkdir -p '${mountpoint()}/from-mount' && printf 'made with printf\\n' > '${mountpoint()}/from-mount/note.txt'`,
    );
    const pushed = await eventually(
      async () => (await authed(`${server?.url}/ws/mounted/fs/from-mount/note.txt`)).text(),
      (text) => text === 'made with printf\n',
    );
    expect(pushed).toBe('made with printf\n');

    // The kernel caches names, attributes and pages for 30 s: a file it has read, changed and then
    // removed on the Durable Object, shows the change within a sync round (the daemon invalidates).
    await authed(`${server?.url}/ws/mounted/fs/from-do/readme.txt`, {
      method: 'PUT',
      body: 'changed remotely, longer\n',
    });
    const changed = await eventually(
      () => sh(`cat '${mountpoint()}/from-do/readme.txt'`, { allowFail: true }),
      (out) => out.stdout === 'changed remotely, longer\n',
      15_000,
    );
    expect(changed.stdout).toBe('changed remotely, longer\n');
    await authed(`${server?.url}/ws/mounted/fs/from-do/readme.txt`, { method: 'DELETE' });
    const removed = await eventually(
      () => sh(`test -e '${mountpoint()}/from-do/readme.txt' && echo present || echo gone`),
      (out) => out.stdout.trim() === 'gone',
      15_000,
    );
    expect(removed.stdout.trim()).toBe('gone');

    const stats = await daemon.get<{ sync?: { rounds: number; failures: number } }>('/stats');
    expect(stats.body.sync?.rounds).toBeGreaterThan(0);
    await expectFsckClean(daemon);
  }, 90_000);
});
