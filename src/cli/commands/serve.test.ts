import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../../../tests/helpers.js';
import { finishedCampaign } from '../../../tests/ledgers.js';

/**
 * `poreloop serve` that cannot listen (dashboard review, 2026-12-07): it printed its error and
 * never exited — the ledger poll and keep-alive timers outlived the failed listen. It now ends
 * at once with exit 2 and a message naming the flag, and leaves no timer behind.
 */
describe('poreloop serve: a port or host it cannot listen on', () => {
  const db = join(tmp('poreloop-serve-cli-'), 'l.db');
  finishedCampaign([1, 2], {}, 'c1', db).close();
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('a port in use: exit 2 naming --port, nothing left running', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as AddressInfo).port;
    try {
      const before = timers();
      const r = await cli(['serve', '--db', db, '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--port: port ${port} is in use; choose another with --port (0: any free port)`);
      expect(timers()).toBeLessThanOrEqual(before);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it('an address this machine does not have: exit 2 naming --host', async () => {
    const before = timers();
    // TEST-NET-1 (RFC 5737): never an address of this machine, and no name lookup.
    const r = await cli(['serve', '--db', db, '--port', '0', '--host', '192.0.2.1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--host: cannot listen on "192\.0\.2\.1" \(EADDRNOTAVAIL\): expected an address of this machine/);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('poreloop serve --allowed-host (security review xss9, finding 3)', () => {
  it('a value with a scheme or a port is refused, exit 2 naming --allowed-host', async () => {
    const db = join(tmp('poreloop-serve-cli-'), 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    for (const bad of ['http://dash.lab', 'dash.lab:8080', 'a b']) {
      const r = await cli(['serve', '--db', db, '--port', '0', '--allowed-host', 'ok.example', '--allowed-host', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`--allowed-host: expected a host name or IP address without scheme or port (e.g. dash.lab.example), got "${bad}"`);
    }
  });
});
