import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { finishedCampaign } from '../../tests/ledgers.js';
import { CampaignLease } from '../ledger/lease.js';
import { Ledger } from '../ledger/ledger.js';
import { allowedNames, describeDocument, hostAllowed, startDashboard } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A ledger file with one finished campaign and one whose round-1 batch waits at the gate, run by this process. */
function ledgerFile(): { db: string; lease: CampaignLease; ledger: Ledger } {
  const db = join(dir, `l${Math.random().toString(36).slice(2)}.db`);
  const mem = finishedCampaign([1, 2]);
  const l = Ledger.open(db);
  for (const d of mem.documents('c1')) l.append('c1', d.type, d.body as never, d.key ?? undefined);
  mem.close();
  l.append('w', 'CampaignStarted', { name: 'gate', config: { space: { x: { min: 0, max: 1 } } }, configHash: 'h', seed: 1, source: 'x.yaml', versions: {} }, 'start');
  for (const i of [0, 1]) {
    const trialId = `w-r1-${i}`;
    l.append('w', 'TrialProposed', { trialId, round: 1, index: i, params: { x: i / 2 }, agent: 'a' }, trialId);
    l.append('w', 'TrialScored', { trialId, properties: {}, fidelity: 'simulation', reward: i }, trialId);
    l.append('w', 'TrialSelected', { trialId, round: 1, rank: i, predictedReward: i }, trialId);
  }
  l.append('w', 'ApprovalRequested', { round: 1, trialIds: ['w-r1-0', 'w-r1-1'] }, 'round:1');
  return { db, lease: CampaignLease.acquire(l, 'w'), ledger: l };
}

const get = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};
const post = async (url: string, body: unknown, token?: string) => {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};

describe('poreloop serve (issue #18)', () => {
  it('lists campaigns with their state, serves the model, charts and events, on loopback', async () => {
    const { db, ledger, lease } = ledgerFile();
    const d = await startDashboard({ db, port: 0 });
    try {
      expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const list = await get(`${d.url}api/campaigns`);
      expect(list.body.campaigns.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([['w', 'running'], ['c1', 'completed']]);
      const m = await get(`${d.url}api/campaigns/c1`);
      expect(m.body.runs).toHaveLength(2);
      expect(m.body.charts.map((c: { id: string }) => c.id)).toEqual(['convergence', 'predictions']);
      const w = await get(`${d.url}api/campaigns/w`);
      expect(w.body.approval).toMatchObject({ round: 1, trials: [{ trialId: 'w-r1-0', params: { x: 0 } }, { trialId: 'w-r1-1', params: { x: 0.5 } }] });
      const ev = await get(`${d.url}api/campaigns/w/events?limit=2`);
      expect(ev.body.events.map((e: { type: string }) => e.type)).toEqual(['TrialSelected', 'ApprovalRequested']);
      const missing = await get(`${d.url}api/campaigns/nope`);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toContain('no campaign "nope" in');
      // A request addressed to another name (a DNS-rebinding page) is refused.
      const port = new URL(d.url).port;
      const asHost = (host: string) =>
        new Promise<number>((resolve, reject) =>
          request({ host: '127.0.0.1', port, path: '/api/campaigns', headers: { host } }, (r) => {
            r.resume();
            resolve(r.statusCode!);
          }).on('error', reject).end(),
        );
      expect(await asHost(`evil.example:${port}`)).toBe(421);
      expect(await asHost(`localhost:${port}`)).toBe(200);
      // The page and the vega bundles come from the package, not a CDN.
      const page = await fetch(d.url).then((r) => r.text());
      expect(page).not.toMatch(/https?:\/\/(?!vega\.github\.io)/);
      for (const a of ['vega.min.js', 'vega-lite.min.js', 'app.js', 'style.css']) expect((await fetch(`${d.url}assets/${a}`)).status).toBe(200);
    } finally {
      await d.close();
      lease.release();
      ledger.close();
    }
  });

  it('refuses writes without the token and in read-only mode; with it, records the per-trial decision as a command', async () => {
    const { db, ledger, lease } = ledgerFile();
    const d = await startDashboard({ db, port: 0, checkParams: (_c, p) => (typeof p.x === 'number' && p.x >= 0 && p.x <= 1 ? [] : ['x: outside 0…1']) });
    const ro = await startDashboard({ db, port: 0, readOnly: true });
    try {
      expect(ro.token).toBeNull();
      expect((await post(`${ro.url}api/campaigns/w/approval`, {}, 'x')).status).toBe(403);
      const url = `${d.url}api/campaigns/w/approval`;
      expect((await post(url, {})).status).toBe(401);
      expect((await post(url, {}, 'wrong')).status).toBe(401);
      const bad = await post(url, { round: 1, edits: { 'w-r1-0': { x: 3 } } }, d.token!);
      expect(bad).toMatchObject({ status: 400, body: { error: 'edits.w-r1-0: x: outside 0…1' } });
      // A decision must name the round it decides.
      expect(await post(url, {}, d.token!)).toMatchObject({ status: 400, body: { error: 'round: required, the round of the batch you decide (round 1 waits)' } });
      expect((await post(url, { round: 2 }, d.token!)).status).toBe(409);
      const ok = await post(url, { round: 1, reject: ['w-r1-1'], edits: { 'w-r1-0': { x: 0.75 } } }, d.token!);
      expect(ok).toMatchObject({ status: 202, body: { decision: 'edit', rejected: ['w-r1-1'], edited: ['w-r1-0'] } });
      const cmd = ledger.pendingCommands('w');
      expect(cmd).toEqual([{ seq: expect.any(Number), command: 'approve', args: { round: 1, reject: ['w-r1-1'], edits: { 'w-r1-0': { x: 0.75 } }, by: 'dashboard' } }]);
      expect((await post(`${d.url}api/campaigns/w/pause`, {}, d.token!)).status).toBe(202);
      expect(ledger.pendingCommands('w').map((c) => c.command)).toEqual(['approve', 'pause']);
      // A finished campaign takes no commands.
      expect((await post(`${d.url}api/campaigns/c1/stop`, {}, d.token!)).status).toBe(409);
    } finally {
      await d.close();
      await ro.close();
      lease.release();
      ledger.close();
    }
  });

  it('slice viewer: a failed rebuild is not cached, and at most two rebuilds run at once (issue #18 review)', async () => {
    const db = join(dir, 'slices.db');
    finishedCampaign([1, 2, 3, 4], {}, 'c1', db).close();
    const volume = { data: new Uint8Array(8), shape: [2, 2, 2] as [number, number, number], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } };
    const calls: string[] = [];
    const held: Array<() => void> = [];
    const d = await startDashboard({
      db,
      port: 0,
      readOnly: true,
      volumeOf: async (_c, t) => {
        calls.push(t.id);
        if (t.id === 'c1-r1-0' && calls.length === 1) throw new Error('twin broke');
        if (t.id === 'c1-r2-0' || t.id === 'c1-r3-0') await new Promise<void>((r) => held.push(r));
        return volume;
      },
    });
    const slice = (trial: string) => fetch(`${d.url}api/campaigns/c1/trials/${trial}/slice`);
    try {
      const failed = await slice('c1-r1-0');
      expect(failed.status).toBe(500);
      expect(await failed.json()).toEqual({ error: 'twin broke' });
      // Tried again, not the cached failure; then cached.
      expect((await slice('c1-r1-0')).status).toBe(200);
      expect((await slice('c1-r1-0')).status).toBe(200);
      expect(calls).toEqual(['c1-r1-0', 'c1-r1-0']);
      // Two rebuilds in flight: a third trial is refused with Retry-After, not queued.
      const two = [slice('c1-r2-0'), slice('c1-r3-0')];
      while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
      const busy = await slice('c1-r4-0');
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('2');
      expect(((await busy.json()) as { error: string }).error).toMatch(/2 microstructures are being rebuilt/);
      for (const release of held) release();
      expect((await Promise.all(two)).map((r) => r.status)).toEqual([200, 200]);
      expect((await slice('c1-r4-0')).status).toBe(200);
      expect(calls).toEqual(['c1-r1-0', 'c1-r1-0', 'c1-r2-0', 'c1-r3-0', 'c1-r4-0']);
    } finally {
      await d.close();
    }
  });

  it('streams the documents appended after it started, read by seq', async () => {
    const { db, ledger, lease } = ledgerFile();
    const d = await startDashboard({ db, port: 0, pollMs: 50 });
    const controller = new AbortController();
    try {
      const res = await fetch(`${d.url}api/stream`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      const read = async (until: RegExp) => {
        while (!until.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      };
      await read(/event: hello/);
      ledger.append('w', 'ApprovalGiven', { round: 1, decision: 'approve', trialIds: ['w-r1-0', 'w-r1-1'], by: 'test' }, 'round:1');
      await read(/event: documents\ndata: .*ApprovalGiven/);
      expect(text).toMatch(/"campaignId":"w","type":"ApprovalGiven".*"text":"round 1: approve \(2 go\) by test"/);
      // Only the new document: nothing from before the server started.
      expect(text).not.toMatch(/ApprovalRequested/);
    } finally {
      controller.abort();
      await d.close();
      lease.release();
      ledger.close();
    }
  });

  it('a failed listen (port in use) rejects and leaves no timer or ledger behind (dashboard review, 2026-12-07)', async () => {
    const { db, ledger, lease } = ledgerFile();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const closed = vi.spyOn(Ledger.prototype, 'close');
    try {
      const before = timers();
      await expect(startDashboard({ db, port: (taken.address() as AddressInfo).port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // The poll and keep-alive timers kept `poreloop serve` alive after its error message.
      expect(timers()).toBeLessThanOrEqual(before);
      // ...and the server's own ledger is closed, not left open (review of 0e10d79: only timers were counted).
      expect(closed.mock.contexts.filter((l) => l !== ledger)).toHaveLength(1);
    } finally {
      closed.mockRestore();
      await new Promise<void>((r) => taken.close(() => r()));
      lease.release();
      ledger.close();
    }
  });

  it('bad requests are 400s naming what is wrong: a malformed %-escape, a round that is not an integer (dashboard review, 2026-12-07)', async () => {
    const { db, ledger, lease } = ledgerFile();
    const d = await startDashboard({ db, port: 0 });
    try {
      const malformed = await get(`${d.url}api/campaigns/%E0%A4%A`);
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toMatch(/malformed percent-encoding in the path/);
      const url = `${d.url}api/campaigns/w/approval`;
      expect(await post(url, { round: '1' }, d.token!)).toMatchObject({ status: 400, body: { error: 'round: expected an integer, the round of the batch you decide (round 1 waits); got "1"' } });
      expect((await post(url, { round: 1.5 }, d.token!)).status).toBe(400);
      expect(ledger.pendingCommands('w')).toEqual([]);
    } finally {
      await d.close();
      lease.release();
      ledger.close();
    }
  });
});

describe('the live feed describes a score', () => {
  it('a score that predicts nothing says so, not "(undefined)"; a prior is named (review 2026-12-07, finding 4)', () => {
    expect(describeDocument('TrialScored', { trialId: 't', properties: {}, reward: null })).toBe('t: nothing predicted (no model, no data)');
    expect(describeDocument('TrialScored', { trialId: 't', properties: {}, reward: 1.5, fidelity: 'prior' })).toMatch(/^t: predicted reward 1\.5\d* \(prior\)$/);
  });
});

/** An event stream read as it arrives: the documents' highest seq, and the status. */
function openStream(url: string, localAddress?: string): Promise<{ status: number; body: () => string; lastSeq: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}api/stream`, { localAddress }, (r) => {
      let text = '';
      let lastSeq = 0;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (event.startsWith('event: documents') && data) lastSeq = (JSON.parse(data) as Array<{ seq: number }>).at(-1)!.seq;
        }
      });
      r.on('error', () => {});
      resolve({ status: r.statusCode!, body: () => text, lastSeq: () => lastSeq, close: () => req.destroy() });
    });
    req.on('error', reject).end();
  });
}
const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
  for (let i = 0; !(await ok()); i++) {
    if (i > 20_000) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('event streams cannot exhaust the server (security review xss9, findings 1–2)', () => {
  it('a client that never reads its stream is dropped once 1 MiB waits for it; a reading client gets every document', async () => {
    const db = join(dir, 'flood.db');
    const l = finishedCampaign([1], {}, 'c1', db);
    const d = await startDashboard({ db, port: 0, pollMs: 5 });
    const port = Number(new URL(d.url).port);
    const stalled = connect(port, '127.0.0.1', () => stalled.write(`GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    stalled.pause(); // never read
    stalled.on('error', () => {});
    const reader = await openStream(d.url);
    const connections = () => new Promise<number>((r, j) => d.server.getConnections((e, n) => (e ? j(e) : r(n))));
    try {
      await until('both streams connected', async () => (await connections()) === 2);
      // Documents of ~4 kB each in their one-line account, 800 kB a batch: bounded by bytes, not time.
      const reason = 'x'.repeat(4000);
      let sent = 0;
      while ((await connections()) === 2) {
        expect(sent, 'the stalled stream is still open after 64 MB of documents').toBeLessThan(64e6);
        let seq = 0;
        l.transaction(() => {
          for (let i = 0; i < 200; i++) seq = l.append('c1', 'MessageRejected', { topic: 't', reason, payload: '' } as never)!.seq;
        });
        sent += 200 * reason.length;
        // The server has sent the batch to every stream once the reading client has it.
        await until(`the reader got seq ${seq}`, () => reader.lastSeq() >= seq);
      }
      // The reader, which keeps up, is still connected and was never dropped.
      expect(await connections()).toBe(1);
      expect(sent).toBeGreaterThan(1024 * 1024);
    } finally {
      reader.close();
      stalled.destroy();
      await d.close();
      l.close();
    }
  });

  it('beyond the caps on streams (all, and per address) a stream gets 503 with the reason, and the pages still answer', async () => {
    const db = join(dir, 'caps.db');
    finishedCampaign([1], {}, 'c1', db).close();
    const d = await startDashboard({ db, port: 0, streams: { max: 3, perAddress: 2 } });
    const open: Array<{ close: () => void }> = [];
    try {
      // Linux answers on all of 127.0.0.0/8: three client addresses on loopback.
      for (const from of ['127.0.0.1', '127.0.0.1']) {
        const s = await openStream(d.url, from);
        open.push(s);
        expect(s.status).toBe(200);
      }
      const third = await openStream(d.url, '127.0.0.1');
      expect(third.status).toBe(503);
      await until('the 503 body', () => third.body().includes('"error"'));
      expect(JSON.parse(third.body()).error).toBe('2 event streams from 127.0.0.1 are open, the most one address may hold; close a dashboard tab, or try again later');
      const other = await openStream(d.url, '127.0.0.2');
      open.push(other);
      expect(other.status).toBe(200);
      const full = await openStream(d.url, '127.0.0.3');
      expect(full.status).toBe(503);
      await until('the 503 body', () => full.body().includes('"error"'));
      expect(JSON.parse(full.body()).error).toMatch(/^3 event streams are open, the most this dashboard serves at once/);
      expect((await fetch(d.url)).status).toBe(200);
      expect((await get(`${d.url}api/campaigns`)).status).toBe(200);
      // A stream closed frees its place.
      open.shift()!.close();
      await until('a place freed', async () => (await openStream(d.url, '127.0.0.1').then((s) => (open.push(s), s.status))) === 200);
    } finally {
      for (const s of open) s.close();
      await d.close();
    }
  });

  it('perAddress 0 (--max-streams-per-address 0): no per-address cap, only the total one — behind a reverse proxy every tab has its address (diff review 2026-12-07, item 3)', async () => {
    const db = join(dir, 'caps0.db');
    finishedCampaign([1], {}, 'c1', db).close();
    const d = await startDashboard({ db, port: 0, streams: { max: 10, perAddress: 0 } });
    const open: Array<{ close: () => void }> = [];
    try {
      // More than the default 8, all from the one address a proxy would connect from.
      for (let i = 0; i < 10; i++) {
        const s = await openStream(d.url, '127.0.0.1');
        open.push(s);
        expect(s.status, `stream ${i + 1}`).toBe(200);
      }
      const full = await openStream(d.url, '127.0.0.1');
      open.push(full);
      expect(full.status).toBe(503);
      await until('the 503 body', () => full.body().includes('"error"'));
      expect(JSON.parse(full.body()).error).toMatch(/^10 event streams are open, the most this dashboard serves at once/);
    } finally {
      for (const s of open) s.close();
      await d.close();
    }
  });
});

/** GET `path` from 127.0.0.1:port with the given Host header: the status. */
const statusAs = (port: number, host: string, path = '/api/campaigns') =>
  new Promise<number>((resolve, reject) =>
    request({ host: '127.0.0.1', port, path, headers: { host } }, (r) => {
      r.resume();
      resolve(r.statusCode!);
    })
      .on('error', reject)
      .end(),
  );

describe('the Host header is checked on every address (security review xss9, findings 3 and 5)', () => {
  it('behind a reverse proxy or a port mapping: an --allowed-host name with no port or the public one, loopback names on a mapped port (diff review 2026-12-07, item 2)', async () => {
    const db = join(dir, 'proxy.db');
    finishedCampaign([1], {}, 'c1', db).close();
    // As in Docker `-p 9000:8080`, nginx `proxy_set_header Host $host`, Caddy's default.
    const d = await startDashboard({ db, port: 0, host: '0.0.0.0', readOnly: true, allowedHosts: ['dash.lab.example'] });
    const port = Number(new URL(d.url).port);
    try {
      for (const ok of ['dash.lab.example', 'dash.lab.example:443', 'localhost:9000', `127.0.0.1:${port + 1}`]) expect(await statusAs(port, ok), ok).toBe(200);
      const refused = await new Promise<string>((resolve, reject) =>
        request({ host: '127.0.0.1', port, path: '/api/campaigns', headers: { host: 'attacker.example:443' } }, (r) => {
          let body = '';
          r.on('data', (c) => (body += c)).on('end', () => resolve(`${r.statusCode} ${body}`));
        })
          .on('error', reject)
          .end(),
      );
      expect(refused).toMatch(/^421 .*dash\.lab\.example.*, with any port \(the Host header\)/);
    } finally {
      await d.close();
    }
  });

  it('listening on 0.0.0.0, a rebound name gets 421; loopback names, this machine\'s name and --allowed-host names are served', async () => {
    const db = join(dir, 'hosts.db');
    finishedCampaign([1], {}, 'c1', db).close();
    const d = await startDashboard({ db, port: 0, host: '0.0.0.0', readOnly: true, allowedHosts: ['Dash.Lab.Example.'] });
    const port = Number(new URL(d.url).port);
    try {
      expect(await statusAs(port, `attacker.example:${port}`)).toBe(421);
      expect(await statusAs(port, 'attacker.example')).toBe(421);
      for (const ok of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${hostname()}:${port}`, `dash.lab.example:${port}`, new URL(d.url).host]) expect(await statusAs(port, ok), ok).toBe(200);
    } finally {
      await d.close();
    }
  });

  it('a name is served with any port or none: reverse proxies, port mappings, --port 80 (diff review 2026-12-07, item 2)', async () => {
    const db = join(dir, 'hosts80.db');
    finishedCampaign([1], {}, 'c1', db).close();
    const d = await startDashboard({ db, port: 0, readOnly: true, allowedHosts: ['proxy.example:8443'] });
    const port = Number(new URL(d.url).port);
    try {
      for (const ok of [`127.0.0.1:${port}`, '127.0.0.1', 'localhost:9000', 'proxy.example', 'proxy.example:443', 'proxy.example:8443']) expect(await statusAs(port, ok), ok).toBe(200);
      expect(await statusAs(port, 'evil.example:8443')).toBe(421);
    } finally {
      await d.close();
    }
    // --port 80 (binding it needs privileges a test lacks; the check is the same function).
    const names = allowedNames('127.0.0.1', '127.0.0.1', []);
    expect([...names].sort()).toEqual(['127.0.0.1', '[::1]', 'localhost']);
    for (const h of ['localhost', '127.0.0.1', '[::1]', 'localhost:80', 'LOCALHOST.', 'localhost:8080', '[::1]:9000']) expect(hostAllowed(h, names), h).toBe(true);
    for (const h of ['evil.example', 'evil.example:80', 'localhost:80:80', 'localhost:99999', '::1', '[::1', '[localhost]', '', undefined]) expect(hostAllowed(h, names), String(h)).toBe(false);
    // Loopback only: the machine's other names are not served on loopback.
    expect(names.has(hostname().toLowerCase())).toBe(hostname().toLowerCase() === 'localhost');
  });
});
