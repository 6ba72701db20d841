import { createServer, request } from 'node:http';
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
  it('a value with a scheme, a bad name or a port over 65535 is refused, exit 2 naming --allowed-host', async () => {
    const db = join(tmp('poreloop-serve-cli-'), 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    for (const bad of ['http://dash.lab', 'dash.lab:99999', 'dash..lab', 'a b', '[dash.lab]:80']) {
      const r = await cli(['serve', '--db', db, '--port', '0', '--allowed-host', 'ok.example', '--allowed-host', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`--allowed-host: expected a host name or IP address, with or without a port and without a scheme (e.g. dash.lab.example or dash.lab.example:443), got "${bad}"`);
    }
  });

  it('stream caps out of range are refused, exit 2 naming the flag', async () => {
    const db = join(tmp('poreloop-serve-cli-'), 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    for (const [flag, bad, why] of [['--max-streams', '0', '≥ 1'], ['--max-streams', '2.5', '≥ 1'], ['--max-streams-per-address', '-1', '≥ 0 (0: no per-address cap)']]) {
      const r = await cli(['serve', '--db', db, '--port', '0', flag, bad]);
      expect(r.code, `${flag} ${bad}`).toBe(2);
      expect(r.stderr).toContain(`${flag}: expected a whole number ${why}, got ${bad}`);
    }
  });
});

/** An HTTP GET from 127.0.0.1 with the given Host header: the status, and the body once it ends (a stream's is read until its first event). */
const getAs = (port: number, host: string, path: string) =>
  new Promise<{ status: number; body: string; close: () => void }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('error', () => {});
      r.on('data', (c: string) => {
        body += c;
        if (r.statusCode === 200 && path === '/api/stream' && body.includes('\n\n')) resolve({ status: 200, body, close: () => req.destroy() });
      });
      r.on('end', () => resolve({ status: r.statusCode!, body, close: () => req.destroy() }));
    });
    req.on('error', reject).end();
  });

/**
 * Behind a reverse proxy (diff review 2026-12-07, items 2–3): nginx's `$host` and Caddy send the
 * public name without a port, or with 443, and every browser comes from the proxy's address.
 * `serve` run as a user runs it (in process, a real server); stopped as SIGINT stops it.
 */
describe('poreloop serve behind a reverse proxy (diff review 2026-12-07, items 2–3)', () => {
  it('--allowed-host name:port serves the name with any port; --max-streams-per-address 0 leaves only --max-streams', async () => {
    const db = join(tmp('poreloop-serve-cli-'), 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    // A free port to pass to --port (the in-process CLI's output is captured until it returns).
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const before = { int: process.listeners('SIGINT'), term: process.listeners('SIGTERM') };
    const run = cli(['serve', '--db', db, '--port', String(port), '--read-only', '--allowed-host', 'dash.lab.example:443', '--allowed-host', 'poreloop_dash', '--max-streams', '3', '--max-streams-per-address', '0']);
    let ended = false;
    void run.finally(() => (ended = true));
    // serve waits for SIGINT once it listens: its listener appearing is the sign it is up.
    const added = () => process.listeners('SIGINT').filter((l) => !before.int.includes(l));
    for (let i = 0; added().length === 0; i++) {
      if (ended) throw new Error(`serve ended: ${JSON.stringify(await run)}`);
      if (i > 20_000) throw new Error('serve never listened');
      await new Promise((r) => setTimeout(r, 5));
    }
    const streams: Array<{ close: () => void }> = [];
    try {
      for (const host of ['dash.lab.example', 'dash.lab.example:443', `dash.lab.example:${port}`, 'localhost:9000', 'poreloop_dash:8080']) expect((await getAs(port, host, '/api/campaigns')).status, host).toBe(200);
      expect((await getAs(port, 'attacker.example', '/api/campaigns')).status).toBe(421);
      // Three streams from one address (the proxy's): the per-address cap of 8 would refuse the 9th; 0 lifts it.
      for (let i = 0; i < 3; i++) {
        const s = await getAs(port, 'dash.lab.example', '/api/stream');
        streams.push(s);
        expect(s.status, `stream ${i + 1}`).toBe(200);
      }
      const fourth = await getAs(port, 'dash.lab.example', '/api/stream');
      expect(fourth.status).toBe(503);
      expect(JSON.parse(fourth.body).error).toMatch(/^3 event streams are open, the most this dashboard serves at once/);
    } finally {
      for (const s of streams) s.close();
      for (const l of added()) process.removeListener('SIGINT', l);
      for (const l of process.listeners('SIGTERM').filter((l) => !before.term.includes(l))) {
        process.removeListener('SIGTERM', l);
        (l as () => void)();
      }
    }
    expect((await run).code).toBe(0);
  });
});
