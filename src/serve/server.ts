import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadInputError } from '../core/errors.js';
import type { Parameters, Voxels } from '../core/protocols.js';
import { Ledger, issueCommand, type CampaignRow, type TrialRow } from '../ledger/ledger.js';
import { CampaignLease } from '../ledger/lease.js';
import { campaignCharts } from '../report/charts.js';
import { approval, campaignModel, overview } from '../report/model.js';
import { encodeSlicePng, PHASE_COLOURS } from '../voxel/io.js';
import { scaleBarLength } from '../voxel/preview.js';

/**
 * `poreloop serve` (issue #18): the operator's dashboard, a small HTTP server over one ledger.
 *
 * - Reads through a read-only connection; live updates are server-sent events fed by reading
 *   only the documents appended since the last look (`seq > cursor`, the rowid: no table is
 *   scanned again), twice a second — a campaign in another process appears as it writes.
 * - Writes (approve / reject / edit a waiting batch, pause, resume, stop) go into the ledger
 *   as operator commands, exactly as `poreloop approve|pause|…` write them; the running
 *   campaign acts on them at its next step boundary. They need the token printed at start-up
 *   (`Authorization: Bearer <token>`), and `readOnly` refuses them all.
 * - Binds to 127.0.0.1 unless told otherwise; the front-end (web/dashboard) and the vega
 *   bundles are served from the package itself — no CDN, it works offline.
 */

export interface ServeOptions {
  db: string;
  port?: number;
  host?: string;
  /** Refuse every write action (no token is accepted). */
  readOnly?: boolean;
  /** The write token (default: 24 random bytes, hex). */
  token?: string;
  /** Microstructure of a trial for the slice viewer (the composition root regenerates it with the campaign's twin). */
  volumeOf?: (campaign: CampaignRow, trial: TrialRow) => Promise<Voxels | null>;
  /** Why edited parameters are not allowed in the campaign's space ([] when they are). */
  checkParams?: (campaign: CampaignRow, params: Parameters) => string[];
  /** How often the ledger is read for new documents (ms). */
  pollMs?: number;
  /**
   * More names the dashboard answers to (the Host header), e.g. a reverse proxy's or a DNS name
   * of this machine (`--allowed-host`): `name`, `name:port` or `[v6]:port`; a name matches with
   * any port or none (see hostAllowed).
   */
  allowedHosts?: string[];
  /** Limits of the event streams (/api/stream); defaults STREAM_LIMITS (`--max-streams`, `--max-streams-per-address`). */
  streams?: Partial<StreamLimits>;
}

export interface StreamLimits {
  /** Streams open at once, all clients together. */
  max: number;
  /**
   * Streams open at once from one client address (the socket's peer: behind a reverse proxy
   * every browser has the proxy's address; X-Forwarded-For is not trusted); 0: no such cap.
   */
  perAddress: number;
  /** Bytes a stream may have waiting to be sent (unread by its client) before it is dropped. */
  bufferBytes: number;
}

/**
 * A client that does not read its event stream must not grow the server without limit, nor a
 * flood of streams take every file handle (security review xss9, findings 1–2: 50 never-read
 * streams and 10 000 documents took the server from 318 to 1163 MB; 300 streams under
 * `ulimit -n 256` reset the page itself). A stream that falls 1 MiB behind is dropped — the
 * browser's EventSource reconnects and the page reloads what it shows (web/dashboard/app.js);
 * beyond the caps a stream is refused with 503 while pages and the API keep working. A browser
 * opens one stream per dashboard tab (and at most 6 connections to a host over HTTP/1.1).
 * Behind a reverse proxy all streams come from the proxy's address, so the per-address cap
 * would be the whole lab's: `--max-streams-per-address 0` lifts it (diff review 2026-12-07, item 3).
 */
export const STREAM_LIMITS: StreamLimits = { max: 64, perAddress: 8, bufferBytes: 1024 * 1024 };

export interface DashboardServer {
  url: string;
  token: string | null;
  server: Server;
  close(): Promise<void>;
}

/** web/dashboard, found from this file in the sources (src/serve) or the build (dist/src/serve). */
function webDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../web/dashboard', '../../../web/dashboard']) {
    const d = join(here, rel);
    if (existsSync(join(d, 'index.html'))) return d;
  }
  throw new Error('the dashboard files (web/dashboard) are missing from this installation');
}

const require = createRequire(import.meta.url);
/** The vega bundles from node_modules (UMD builds, served as they ship). */
const ASSETS: Record<string, () => string> = {
  'vega.min.js': () => join(dirname(require.resolve('vega')), 'vega.min.js'),
  'vega-lite.min.js': () => join(dirname(require.resolve('vega-lite')), 'vega-lite.min.js'),
};
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** A one-line account of a document for the event stream (bodies can be large: configs, agent state). */
export function describeDocument(type: string, body: Record<string, unknown>): string {
  const f = (v: unknown) => (typeof v === 'number' ? (Number.isFinite(v) ? Number(v).toPrecision(4) : String(v)) : String(v));
  switch (type) {
    case 'RoundStarted':
      return `round ${body.round}`;
    case 'TrialProposed':
      return `${body.trialId} by ${body.agent}`;
    case 'TrialScored':
      return `${body.trialId}: ${body.fidelity ? `predicted reward ${f(body.reward)} (${body.fidelity})` : 'nothing predicted (no model, no data)'}`;
    case 'TrialRescored':
      return `${body.trialId} (edited): ${body.fidelity ? `predicted reward ${f(body.reward)} (${body.fidelity})` : 'nothing predicted (no model, no data)'}`;
    case 'TrialSelected':
      return `${body.trialId} rank ${body.rank}`;
    case 'ApprovalRequested':
      return `round ${body.round}: ${(body.trialIds as string[]).length} trials wait for approval`;
    case 'ApprovalGiven':
      return `round ${body.round}: ${body.decision} (${(body.trialIds as string[]).length} go) by ${body.by}`;
    case 'JobDispatched':
      return `${body.jobId} → ${body.capability}`;
    case 'JobSent':
      return `${body.jobId} attempt ${body.attempt} to ${body.rigId}`;
    case 'RigEventReceived':
      return `${body.rigId}: ${body.type} ${body.jobId}${body.reason ? ` (${body.reason})` : ''}`;
    case 'MeasurementRecorded':
      return `${body.trialId} ${body.capability} on ${body.rigId}${body.feasible ? '' : ' (infeasible)'}`;
    case 'JobFailed':
      return `${body.jobId}: ${body.reason}`;
    case 'TrialCompleted':
      return `${body.trialId}: measured reward ${f(body.reward)}${body.feasible ? '' : ' (infeasible)'}`;
    case 'TrialAbandoned':
      return `${body.trialId}: ${body.reason}`;
    case 'ModelTrained':
      return `${body.kind} v${body.version} on ${body.samples} samples`;
    case 'CommandIssued':
      return `${body.command} by ${body.by}`;
    case 'CommandIgnored':
      return `${body.command} ignored: ${body.reason}`;
    case 'CampaignStopped':
      return `${body.status}: ${body.reason}`;
    case 'CampaignPaused':
      return `paused before round ${body.round}`;
    case 'CampaignUnpaused':
      return `going on with round ${body.round}`;
    case 'RigFleetObserved':
      return (body.rigs as Array<{ rigId: string; status: string }>).map((r) => `${r.rigId} ${r.status}`).join(', ') || 'no rigs';
    case 'MessageRejected':
      return `${body.topic}: ${body.reason}`;
    case 'CampaignStarted':
      return `${body.name} seed ${body.seed}`;
    default:
      return '';
  }
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Microstructures the slice viewer keeps (a 128³ volume is 2 MB) and builds at once (each a twin run). */
const SLICE_CACHE = 4;
const SLICE_BUILDS = 2;

export async function startDashboard(options: ServeOptions): Promise<DashboardServer> {
  const web = webDir();
  const ledger = Ledger.open(options.db, { readonly: true });
  const token = options.readOnly ? null : (options.token ?? randomBytes(24).toString('hex'));
  const limits: StreamLimits = { ...STREAM_LIMITS, ...options.streams };
  // Each open event stream and its client's address.
  const clients = new Map<ServerResponse, string>();
  let cursor = (ledger.db.prepare('SELECT max(seq) AS s FROM documents').get() as { s: number | null }).s ?? 0;
  const newDocs = ledger.db.prepare('SELECT seq, campaign_id, type, at, body FROM documents WHERE seq > ? ORDER BY seq LIMIT 500');
  // Rebuilt microstructures of the slice viewer, least recently used first, and how many are being built.
  const volumes = new Map<string, Promise<Voxels | null>>();
  let building = 0;

  const drop = (res: ServerResponse) => {
    clients.delete(res);
    res.destroy();
  };
  // res.write's return is not enough: it says only that *something* is buffered. writableLength
  // counts what waits in this process for the client (the response's and its socket's buffers).
  const write = (res: ServerResponse, text: string) => {
    if (res.destroyed) return drop(res);
    res.write(text);
    if (res.writableLength > limits.bufferBytes) drop(res);
  };
  const send = (res: ServerResponse, event: string, data: unknown) => write(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const pollLedger = () => {
    try {
      for (;;) {
        const rows = newDocs.all(cursor) as Array<{ seq: number; campaign_id: string; type: string; at: string; body: string }>;
        if (rows.length === 0) break;
        cursor = rows[rows.length - 1].seq;
        const docs = rows.map((r) => ({ seq: r.seq, campaignId: r.campaign_id, type: r.type, at: r.at, text: describeDocument(r.type, JSON.parse(r.body)) }));
        for (const c of [...clients.keys()]) send(c, 'documents', docs);
        if (rows.length < 500) break;
      }
    } catch {
      // A busy ledger (a writer's checkpoint) is read again on the next tick.
    }
  };

  // The CLI's words for an unknown id or an ambiguous prefix (Ledger.requireCampaign), as a 404.
  const campaign = (id: string): CampaignRow => {
    try {
      return ledger.requireCampaign(decodePart(id), options.db);
    } catch (e) {
      throw e instanceof BadInputError ? new HttpError(404, e.message) : e;
    }
  };

  const authorise = (req: IncomingMessage) => {
    if (token === null) throw new HttpError(403, 'this dashboard is read-only (started with --read-only)');
    const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(401, 'write actions need the token printed when `poreloop serve` started (Authorization: Bearer <token>)');
  };

  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 64 * 1024) throw new HttpError(413, 'request body over 64 kB');
      chunks.push(c as Buffer);
    }
    if (size === 0) return {};
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch {
      throw new HttpError(400, 'request body: expected a JSON object');
    }
  };

  /** Commands go through a short-lived writable connection: the dashboard holds no write lock. */
  const command = (c: CampaignRow, name: 'approve' | 'reject' | 'pause' | 'resume' | 'stop', args: Record<string, unknown>) => {
    if (c.status !== 'running' && c.status !== 'paused') throw new HttpError(409, `campaign ${c.id} is ${c.status}; nothing to ${name}`);
    if (!CampaignLease.liveHolder(ledger, c.id)) throw new HttpError(409, `no process runs campaign ${c.id} now; continue it with "poreloop resume ${c.id}"`);
    const w = Ledger.open(options.db);
    try {
      issueCommand(w, c.id, name, { ...args, by: 'dashboard' });
    } finally {
      w.close();
    }
  };

  const approvalArgs = (c: CampaignRow, body: Record<string, unknown>) => {
    const pending = approval(ledger, c.id, ledger.trials(c.id));
    if (!pending) throw new HttpError(409, `no batch of campaign ${c.id} waits for approval`);
    // The round is required: a decision sent without it could land on a batch nobody saw (issue #18 review).
    if (body.round === undefined) throw new HttpError(400, `round: required, the round of the batch you decide (round ${pending.round} waits)`);
    // A string "1" was answered 409 "round 1 is not the one waiting (round 1)" (dashboard review, 2026-12-07).
    if (!Number.isInteger(body.round)) throw new HttpError(400, `round: expected an integer, the round of the batch you decide (round ${pending.round} waits); got ${JSON.stringify(body.round)}`);
    if (body.round !== pending.round) throw new HttpError(409, `round ${String(body.round)} is not the one waiting (round ${pending.round})`);
    const ids = pending.trials.map((t) => t.trialId);
    const reject = body.reject ?? [];
    if (!Array.isArray(reject) || !reject.every((r) => typeof r === 'string' && ids.includes(r))) throw new HttpError(400, `reject: expected a list of trial ids of the waiting batch (${ids.join(', ')})`);
    const edits = (body.edits ?? {}) as Record<string, Parameters>;
    if (typeof edits !== 'object' || Array.isArray(edits)) throw new HttpError(400, 'edits: expected { trialId: { parameter: value } }');
    for (const [id, p] of Object.entries(edits)) {
      if (!ids.includes(id)) throw new HttpError(400, `edits: ${id} is not in the waiting batch (${ids.join(', ')})`);
      if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new HttpError(400, `edits.${id}: expected { parameter: value }`);
      const problems = options.checkParams?.(c, p) ?? [];
      if (problems.length > 0) throw new HttpError(400, `edits.${id}: ${problems.join('; ')}`);
    }
    return { round: pending.round, reject, edits, all: ids };
  };

  const slice = async (c: CampaignRow, trialId: string, url: URL, res: ServerResponse) => {
    if (!options.volumeOf) throw new HttpError(404, 'this server cannot rebuild microstructures');
    const trial = ledger.trials(c.id).find((t) => t.id === trialId);
    if (!trial) throw new HttpError(404, `no trial ${trialId} in campaign ${c.id}`);
    const key = `${c.id}/${trial.id}/${JSON.stringify(trial.params)}`;
    let pending = volumes.get(key);
    if (pending) {
      // Most recently used last: the one dropped when the cache is full is the least recently used.
      volumes.delete(key);
      volumes.set(key, pending);
    } else {
      // A GET needs no token (the dashboard is read-only without one), yet each new trial costs a
      // twin generation: at most SLICE_BUILDS at a time; more is refused, not queued (issue #18 review).
      if (building >= SLICE_BUILDS) {
        res.setHeader('retry-after', '2');
        throw new HttpError(503, `${building} microstructures are being rebuilt; try again shortly`);
      }
      building++;
      pending = options.volumeOf(c, trial).finally(() => building--);
      // A failed build is not kept: the next request tries again instead of getting the same 500.
      const built = pending;
      built.catch(() => {
        if (volumes.get(key) === built) volumes.delete(key);
      });
      if (volumes.size >= SLICE_CACHE) volumes.delete(volumes.keys().next().value!);
      volumes.set(key, built);
    }
    const v = await pending;
    if (!v) throw new HttpError(404, `campaign ${c.id} has no twin: its trials have no microstructure`);
    const axis = url.searchParams.get('axis');
    if (axis === null) {
      return json(res, 200, { shape: v.shape, voxelSize: v.voxelSize, scaleBarUm: scaleBarLength(v.shape[0] * v.voxelSize), phases: Object.entries(v.phases).map(([label, name]) => ({ label: Number(label), name, colour: PHASE_COLOURS[Number(label) % PHASE_COLOURS.length] })) });
    }
    if (axis !== 'x' && axis !== 'y' && axis !== 'z') throw new HttpError(400, `axis: expected x, y or z, got "${axis}"`);
    const raw = url.searchParams.get('index');
    const index = raw === null ? undefined : Number(raw);
    try {
      const png = encodeSlicePng(v, { axis, index });
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
      res.end(png);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) return file(res, join(web, 'index.html'));
    if (req.method === 'GET' && parts[0] === 'assets' && parts.length === 2) {
      const name = parts[1];
      if (ASSETS[name]) return file(res, ASSETS[name]());
      if (/^[\w.-]+\.(js|css)$/.test(name) && existsSync(join(web, name))) return file(res, join(web, name));
      throw new HttpError(404, `no asset ${name}`);
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      return void res.end();
    }
    if (parts[0] !== 'api') throw new HttpError(404, `nothing at ${url.pathname}`);
    if (req.method === 'GET' && url.pathname === '/api/stream') {
      const from = req.socket.remoteAddress ?? '';
      const mine = [...clients.values()].filter((a) => a === from).length;
      const full =
        clients.size >= limits.max ? `${clients.size} event streams are open, the most this dashboard serves at once` : limits.perAddress > 0 && mine >= limits.perAddress ? `${mine} event streams from ${from} are open, the most one address may hold` : null;
      if (full) {
        // Closed after the answer: a refused stream keeps no file handle (xss9 finding 2).
        res.setHeader('connection', 'close');
        res.setHeader('retry-after', '10');
        throw new HttpError(503, `${full}; close a dashboard tab, or try again later`);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      clients.set(res, from);
      req.on('close', () => clients.delete(res));
      send(res, 'hello', { seq: cursor, writable: token !== null });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/campaigns') {
      return json(res, 200, { writable: token !== null, db: options.db, campaigns: ledger.campaigns().map((c) => overview(ledger, c)).reverse() });
    }
    if (parts[1] === 'campaigns' && parts[2]) {
      const c = campaign(parts[2]);
      if (req.method === 'GET' && parts.length === 3) {
        const model = campaignModel(ledger, c.id);
        return json(res, 200, { ...model, charts: campaignCharts(model) });
      }
      if (req.method === 'GET' && parts[3] === 'events' && parts.length === 4) {
        const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
        const rows = ledger.db.prepare('SELECT seq, type, at, body FROM documents WHERE campaign_id = ? ORDER BY seq DESC LIMIT ?').all(c.id, limit) as Array<{ seq: number; type: string; at: string; body: string }>;
        return json(res, 200, { events: rows.reverse().map((r) => ({ seq: r.seq, campaignId: c.id, type: r.type, at: r.at, text: describeDocument(r.type, JSON.parse(r.body)) })) });
      }
      if (req.method === 'GET' && parts[3] === 'trials' && parts[4] && parts[5] === 'slice' && parts.length === 6) return slice(c, decodePart(parts[4]), url, res);
      if (req.method === 'POST' && parts.length === 4) {
        authorise(req);
        const body = await readJson(req);
        const action = parts[3];
        if (action === 'approval') {
          const a = approvalArgs(c, body);
          const rejected = a.reject.length === a.all.length;
          // The round goes into the command: a second click decides nothing about the next batch.
          command(c, rejected ? 'reject' : 'approve', rejected ? { round: a.round } : { round: a.round, reject: a.reject, edits: a.edits });
          return json(res, 202, { campaignId: c.id, round: a.round, decision: rejected ? 'reject' : Object.keys(a.edits).length ? 'edit' : 'approve', rejected: a.reject, edited: Object.keys(a.edits) });
        }
        if (action === 'pause' || action === 'resume' || action === 'stop') {
          command(c, action, {});
          return json(res, 202, { campaignId: c.id, command: action });
        }
      }
    }
    throw new HttpError(404, `no ${req.method} ${url.pathname}`);
  };

  // Only requests addressed to this dashboard are served: a web page whose DNS name is rebound
  // to this machine sends its own name as Host and gets nothing (DNS-rebinding defence) — on
  // every address, not only loopback (security review xss9, finding 3). The name is checked,
  // not the port (diff review 2026-12-07, item 2).
  let allowed: Set<string> | null = null;
  const server = createServer((req, res) => {
    if (!allowed || !hostAllowed(req.headers.host, allowed)) {
      const names = allowed ? [...allowed].join(', ') : 'nothing yet';
      return json(res, 421, { error: `this dashboard answers only to ${names}, with any port (the Host header); start it with --allowed-host <name> to add a name` });
    }
    route(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (!res.headersSent) json(res, status, { error: (e as Error).message });
      else res.end();
    });
  });
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolveListen());
    });
  } catch (e) {
    // Nothing may outlive a failed listen (port in use, unknown host): an open ledger or a
    // timer kept `poreloop serve` alive after its error message (dashboard review, 2026-12-07).
    ledger.close();
    throw e;
  }
  // The timers start only once the server listens, for the same reason.
  const poll = setInterval(pollLedger, options.pollMs ?? 500);
  const keepAlive = setInterval(() => {
    for (const c of [...clients.keys()]) write(c, ': keep-alive\n\n');
  }, 15_000);
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  allowed = allowedNames(options.host ?? '127.0.0.1', addr.address, options.allowedHosts ?? []);
  return {
    url: `http://${host}:${addr.port}/`,
    token,
    server,
    close: async () => {
      clearInterval(poll);
      clearInterval(keepAlive);
      // A client that reads nothing would hold server.close() open for ever: it is cut off.
      for (const c of clients.keys()) if (c.writableLength > 0) c.destroy();
      else c.end();
      await new Promise<void>((r) => server.close(() => r()));
      ledger.close();
    },
  };
}

/** A host name or address as it appears in a Host header: lower case, no trailing dot, IPv6 in brackets. */
export function hostName(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  return isIP(n) === 6 ? `[${n}]` : n;
}

/**
 * A Host header's value (or an `--allowed-host`) split into its name (as hostName writes it) and
 * port: `name`, `name:port`, `1.2.3.4:port`, `[v6]` or `[v6]:port`, and a bare IPv6 address
 * (never in a Host header, but what `--host ::1` is). null when it is none of those or the
 * port is over 65535.
 */
export function parseHost(value: string): { name: string; port?: number } | null {
  const v = value.trim();
  if (isIP(v) === 6) return { name: hostName(v) };
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s/]+)(?::(\d{1,5}))?$/i.exec(v);
  if (!m) return null;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return null;
  const name = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  if (m[1].startsWith('[') && isIP(name) !== 6) return null;
  return { name: hostName(name), port };
}

/**
 * The names a dashboard listening on `host` (bound to `address`) answers to: the address it
 * listens on and the name it was given (the URL it prints); loopback names when it listens on loopback or on every
 * address; this machine's host name and interface addresses when it listens beyond loopback;
 * and the names of `--allowed-host` (a reverse proxy's, a DNS name of this machine).
 */
export function allowedNames(host: string, address: string, extra: string[]): Set<string> {
  const names = new Set([hostName(host), hostName(address)]);
  const loopback = host === 'localhost' || /^127\./.test(address) || address === '::1' || address === '::ffff:127.0.0.1';
  const any = address === '0.0.0.0' || address === '::';
  if (loopback || any) for (const n of ['127.0.0.1', 'localhost', '::1']) names.add(hostName(n));
  if (!loopback) {
    names.add(hostName(hostname()));
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (!i.address.includes('%')) names.add(hostName(i.address));
  }
  for (const n of extra) names.add(parseHost(n)?.name ?? hostName(n));
  // `0.0.0.0` stays: it is in the URL `serve` prints, and only a page loaded from that URL sends it.
  return names;
}

/**
 * Whether a Host header names this dashboard: one of `names`, with any port or none.
 *
 * The port is not checked (diff review 2026-12-07, item 2). A DNS-rebinding page sends its own
 * name, and that is what this defence refuses; a browser always sends the port of the URL it
 * was given, so the port tells only how the request reached this machine — and a reverse proxy
 * (nginx's `$host`, Caddy: no port, or the public 443), a port mapping (Docker `-p 9000:8080`)
 * or an SSH tunnel sends another one than the port listened on. Requiring it refused all of
 * them with 421 (and `--port 80` before that: security review xss9, finding 5; RFC 9110 §7.2).
 */
export function hostAllowed(header: string | undefined, names: ReadonlySet<string>): boolean {
  // A bare IPv6 address is no Host header (RFC 9110 §7.2 brackets it).
  const h = (header ?? '').trim();
  if (isIP(h) === 6) return false;
  const parsed = parseHost(h);
  return parsed !== null && names.has(parsed.name);
}

/** A path segment, %-decoded; a malformed escape is the client's error, not a 500 "URI malformed" (dashboard review, 2026-12-07). */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in the path: "${part}" (a % must be followed by two hex digits of UTF-8)`);
  }
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(doc));
}

function file(res: ServerResponse, path: string): void {
  const ext = path.slice(path.lastIndexOf('.'));
  res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(readFileSync(path));
}
