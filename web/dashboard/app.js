// The poreloop dashboard (issue #18): plain browser JavaScript, no build step, no CDN. It
// reads /api (the ledger through `poreloop serve`), listens to /api/stream (server-sent
// events of new ledger documents) and redraws the selected campaign when its documents arrive.
// Plots are the Vega-Lite specs the server builds (src/report/charts.ts), the same the static
// report renders.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { selected: null, model: null, writable: false, specs: {}, slices: { trial: null, info: null }, lastSeq: 0, timer: null, shownSeq: 0, eventsGen: 0, pending: null };

const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
if (hashToken) sessionStorage.setItem('poreloop-token', hashToken);
$('token').value = sessionStorage.getItem('poreloop-token') || '';
$('token').addEventListener('input', () => { sessionStorage.setItem('poreloop-token', $('token').value.trim()); updateWriteControls(); });

const fmt = (v, d = 4) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v).toPrecision(d));
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

async function api(path, init) {
  const r = await fetch(path, init);
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : null;
  if (!r.ok) throw Object.assign(new Error(body?.error || `${r.status} ${r.statusText}`), { status: r.status });
  return body;
}

async function post(path, body) {
  return api(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${$('token').value.trim()}` }, body: JSON.stringify(body ?? {}) });
}

function updateWriteControls() {
  const can = state.writable && $('token').value.trim() !== '';
  for (const b of document.querySelectorAll('button.write')) b.disabled = !can;
  $('token').disabled = !state.writable;
  if (!state.writable) $('token').placeholder = 'read-only dashboard';
}

async function loadCampaigns() {
  const doc = await api('/api/campaigns');
  state.writable = doc.writable;
  $('db').textContent = doc.db;
  const ul = $('campaigns');
  ul.innerHTML = '';
  for (const c of doc.campaigns) {
    const li = document.createElement('li');
    li.dataset.id = c.id;
    li.className = c.id === state.selected ? 'sel' : '';
    li.innerHTML = `<div>${esc(c.name)}</div><div class="s">${esc(c.status)} · ${esc(c.state ?? '')} · round ${c.round} · ${c.rigRuns} rig runs</div><div class="s">${esc(c.id)}</div>`;
    li.addEventListener('click', () => select(c.id));
    ul.appendChild(li);
  }
  updateWriteControls();
  if (!state.selected && doc.campaigns.length > 0) select(new URLSearchParams(location.hash.slice(1)).get('c') || doc.campaigns[0].id);
}

async function select(id) {
  state.selected = id;
  state.specs = {};
  state.slices = { trial: null, info: null };
  $('events').innerHTML = '';
  state.shownSeq = 0;
  for (const li of document.querySelectorAll('#campaigns li')) li.className = li.dataset.id === id ? 'sel' : '';
  await reloadEvents(refresh);
}

// Replaces the events list with the server's, after `before` (the panels' reload). Documents that
// come over the stream meanwhile are held in state.pending and added after the list is drawn:
// drawn before it, they would be wiped by it when the fetched list is older than they are (diff
// review of b996947, app.js:263–277). addEvent drops those the fetched list already holds. When
// reloads overlap (a campaign clicked during a reconnect's reload), the latest draws the list.
async function reloadEvents(before) {
  const gen = ++state.eventsGen;
  state.pending ??= [];
  try {
    if (before) await before();
    if (!state.selected) return;
    const ev = await api(`/api/campaigns/${encodeURIComponent(state.selected)}/events?limit=200`);
    if (gen !== state.eventsGen) return;
    $('events').innerHTML = '';
    state.shownSeq = 0;
    for (const e of ev.events) addEvent(e);
  } finally {
    if (gen === state.eventsGen) {
      const held = state.pending;
      state.pending = null;
      takeDocuments(held);
    }
  }
}

async function refresh() {
  if (!state.selected) return;
  const m = await api(`/api/campaigns/${encodeURIComponent(state.selected)}`);
  state.model = m;
  $('empty').hidden = true;
  $('campaign').hidden = false;
  const o = m.overview;
  $('c-name').textContent = o.name;
  $('c-id').textContent = o.id;
  $('c-status').textContent = o.status + (o.pauseRequested ? ' (pause requested)' : '');
  $('c-state').textContent = o.state ?? '—';
  $('c-round').textContent = String(o.round);
  $('c-runs').textContent = `${o.rigRuns}${o.rigBudget !== null ? ` (${o.budgetLeft} left)` : ''}`;
  const best = m.runs.length ? m.runs[m.runs.length - 1].best : null;
  $('c-best').textContent = fmt(best);
  $('c-wall').textContent = `${o.wallTimeS.toFixed(1)} s`;
  $('c-stop').textContent =
    `${o.stopReason ? `stopped: ${o.stopReason}. ` : ''}${o.completed} measured (${o.infeasible} infeasible), ${o.failed} failed, ${o.abandoned} abandoned of ${o.trials} trials. ` +
    `Reward: ${o.reward ?? o.objectives.map((x) => `${x.goal} ${x.name}`).join(', ')}.`;
  const live = o.status === 'running' || o.status === 'paused';
  // Resume also withdraws a pause that waits for the end of the round (the machine's root-level campaign.resume).
  const pausing = o.state === 'paused' || o.pauseRequested;
  $('btn-pause').hidden = !live || pausing;
  $('btn-resume').hidden = !live || !pausing;
  $('btn-stop').hidden = !live;
  for (const c of m.charts) drawChart(c);
  $('pareto-panel').hidden = !m.charts.some((c) => c.id === 'pareto');
  drawApproval(m);
  drawFleet(m.fleet);
  drawSlicesPanel(m);
  updateWriteControls();
}

async function drawChart(chart) {
  $(`cap-${chart.id}`).textContent = chart.caption;
  const key = JSON.stringify(chart.spec);
  if (state.specs[chart.id] === key) return;
  state.specs[chart.id] = key;
  const el = $(`chart-${chart.id}`);
  const view = new vega.View(vega.parse(vegaLite.compile(chart.spec).spec), { renderer: 'svg', container: el, hover: true });
  await view.runAsync();
  el.dataset.rendered = String(Date.now());
}

function drawApproval(m) {
  const a = m.approval;
  $('approval').hidden = !a;
  if (!a) return;
  if ($('a-round').textContent === String(a.round) && $('a-table').rows.length > 0) return; // keep what the operator typed
  $('a-round').textContent = String(a.round);
  const names = m.space.map((p) => p.name);
  let html = `<tr><th>trial</th><th>decision</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>predicted reward</th></tr>`;
  for (const t of a.trials) {
    html += `<tr data-trial="${esc(t.trialId)}"><td>${esc(t.trialId)}</td><td><select class="decision"><option value="approve">approve</option><option value="edit">edit</option><option value="reject">reject</option></select></td>`;
    for (const p of m.space) {
      const v = t.params[p.name];
      const range = p.values ? `one of ${p.values.join(', ')}` : `${p.min} … ${p.max}${p.unit ? ' ' + p.unit : ''}`;
      html += `<td><input class="edit" data-param="${esc(p.name)}" value="${esc(typeof v === 'number' ? Number(v.toPrecision(6)) : v)}" title="${esc(range)}" disabled></td>`;
    }
    html += `<td class="num">${fmt(t.predictedReward)}</td></tr>`;
  }
  $('a-table').innerHTML = html;
  for (const row of $('a-table').querySelectorAll('tr[data-trial]')) {
    row.querySelector('select').addEventListener('change', (e) => {
      for (const i of row.querySelectorAll('input.edit')) i.disabled = e.target.value !== 'edit';
    });
  }
  $('a-msg').textContent = '';
}

$('a-submit').addEventListener('click', async () => {
  const reject = [];
  const edits = {};
  for (const row of $('a-table').querySelectorAll('tr[data-trial]')) {
    const id = row.dataset.trial;
    const d = row.querySelector('select').value;
    if (d === 'reject') reject.push(id);
    if (d === 'edit') {
      edits[id] = {};
      for (const i of row.querySelectorAll('input.edit')) {
        const n = Number(i.value);
        edits[id][i.dataset.param] = i.value.trim() !== '' && Number.isFinite(n) ? n : i.value.trim();
      }
    }
  }
  await act($('a-msg'), () => post(`/api/campaigns/${encodeURIComponent(state.selected)}/approval`, { round: Number($('a-round').textContent), reject, edits }), (r) => `sent: ${r.decision}; the campaign acts on it within a second`);
});
$('a-reject-all').addEventListener('click', async () => {
  const all = [...$('a-table').querySelectorAll('tr[data-trial]')].map((r) => r.dataset.trial);
  await act($('a-msg'), () => post(`/api/campaigns/${encodeURIComponent(state.selected)}/approval`, { round: Number($('a-round').textContent), reject: all }), () => 'sent: reject');
});
for (const a of ['pause', 'resume', 'stop']) {
  $(`btn-${a}`).addEventListener('click', () => act($('action-msg'), () => post(`/api/campaigns/${encodeURIComponent(state.selected)}/${a}`), () => `${a} sent`));
}

async function act(msg, fn, ok) {
  msg.textContent = '…';
  try {
    msg.textContent = ok(await fn());
  } catch (e) {
    msg.textContent = `refused: ${e.message}`;
  }
}

function drawFleet(f) {
  $('f-summary').textContent = `${f.queued} job(s) waiting for a rig` + (f.observedAt ? ` · fleet as seen by the campaign at ${new Date(f.observedAt).toLocaleTimeString()}` : ' · no fleet record yet');
  let html = '<tr><th>rig</th><th>status</th><th>capabilities</th><th>busy jobs</th><th>completed</th><th>failures</th><th>last heartbeat</th></tr>';
  for (const r of f.rigs) {
    html += `<tr><td>${esc(r.rigId)}</td><td class="status-${esc(r.status)}">${esc(r.status)}</td><td>${esc(r.capabilities.join(', '))}</td><td class="num">${r.busyJobs}</td><td class="num">${r.completed}</td><td class="num">${r.failures}</td><td>${r.lastHeartbeat ? new Date(r.lastHeartbeat).toLocaleTimeString() : '—'}</td></tr>`;
  }
  $('f-table').innerHTML = html;
  // Compute workers (exec: mqtt, docs/scale-out.md): shown only when the campaign has recorded some.
  const w = f.workers ?? [];
  $('w-summary').hidden = $('w-table').hidden = w.length === 0;
  $('w-summary').textContent = `${w.length} compute worker(s), ${w.reduce((n, x) => n + x.concurrency, 0)} slots online`;
  $('w-table').innerHTML = '<tr><th>worker</th><th>kinds</th><th>slots</th><th>host</th></tr>' + w.map((x) => `<tr><td>${esc(x.workerId)}</td><td>${esc(x.kinds.join(', '))}</td><td class="num">${x.concurrency}</td><td>${esc(x.host ?? '—')}</td></tr>`).join('');
}

function drawSlicesPanel(m) {
  $('slices-panel').hidden = !m.twin;
  if (!m.twin) return;
  const sel = $('s-trial');
  const ids = m.runs.map((r) => r.trialId);
  if (sel.options.length !== ids.length) {
    const cur = sel.value;
    sel.innerHTML = ids.map((id) => `<option>${esc(id)}</option>`).join('');
    if (ids.includes(cur)) sel.value = cur;
  }
  if (!state.slices.trial && ids.length) loadSlices(sel.value);
}
$('s-trial').addEventListener('change', (e) => loadSlices(e.target.value));

async function loadSlices(trialId) {
  state.slices.trial = trialId;
  const base = `/api/campaigns/${encodeURIComponent(state.selected)}/trials/${encodeURIComponent(trialId)}/slice`;
  let info;
  try {
    info = await api(base);
  } catch (e) {
    // The server rebuilds at most two microstructures at once and answers 503 beyond that:
    // try again shortly. Any other failure is shown as it is.
    const busy = e.status === 503;
    $('s-bar-label').textContent = busy ? `${e.message}; trying again in 2 s` : `no microstructure: ${e.message}`;
    if (busy) setTimeout(() => state.slices.trial === trialId && loadSlices(trialId), 2000);
    return;
  }
  state.slices.info = info;
  const [nx, ny, nz] = info.shape;
  for (const [axis, n] of [['x', nx], ['y', ny], ['z', nz]]) {
    const r = $(`s-i${axis}`);
    r.min = 0;
    r.max = n - 1;
    r.value = Math.floor(n / 2);
    r.oninput = () => showPlane(base, axis, r.value, n);
    showPlane(base, axis, r.value, n);
  }
  // Scale bar under the 256-px-wide xy image: the server picks a round length (src/voxel/preview.ts).
  const len = info.scaleBarUm;
  $('s-bar').style.width = `${(256 * len) / (nx * info.voxelSize)}px`;
  $('s-bar-label').textContent = `${len} µm (voxel ${info.voxelSize} µm, ${info.shape.join('×')} voxels)`;
  $('s-legend').innerHTML = info.phases.map((ph) => `<li><span style="background:rgb(${ph.colour.join(',')})"></span>${esc(ph.name)}</li>`).join('');
}

function showPlane(base, axis, index, n) {
  $(`s-${axis}`).src = `${base}?axis=${axis}&index=${index}`;
  $(`s-n${axis}`).textContent = `${index} / ${n - 1}`;
}

function addEvent(e) {
  // The list is in ledger order (seq, the rowid, is given in commit order): a document at or
  // below the last one shown is already there.
  if (e.seq <= state.shownSeq) return;
  state.shownSeq = e.seq;
  const li = document.createElement('li');
  li.value = e.seq;
  li.textContent = `${e.at.slice(11, 19)} ${e.type} ${e.text}`;
  const ol = $('events');
  ol.appendChild(li);
  while (ol.children.length > 300) ol.removeChild(ol.firstChild);
  ol.scrollTop = ol.scrollHeight;
}

function scheduleRefresh() {
  if (state.timer) return;
  state.timer = setTimeout(async () => {
    state.timer = null;
    try {
      await Promise.all([refresh(), loadCampaigns()]);
    } catch (err) {
      console.error(err);
    }
  }, 400);
}

// Documents sent while the page had no stream are lost to it: the server drops a stream that
// falls 1 MiB behind (a page in a background tab, a slow link) and refuses streams beyond its
// caps with 503 (security review xss9, findings 1–2). state.lastSeq is the newest document this
// page has seen over a stream (0 before any); a stream's `hello` carries the server's newest
// (seq), and when that is newer the page reloads what it shows. That includes the first stream
// the page gets — after refusals, documents appended since the page loaded came over no stream
// (diff review of b996947, app.js:263–277).
function resync() {
  return reloadEvents(() => Promise.all([loadCampaigns(), refresh()]));
}

function takeDocuments(docs) {
  let mine = false;
  for (const d of docs) {
    if (d.campaignId === state.selected) {
      addEvent(d);
      mine = true;
    }
  }
  if (mine || docs.some((d) => d.type === 'CampaignStarted' || d.type === 'CampaignStopped')) scheduleRefresh();
}

function connect() {
  const es = new EventSource('/api/stream');
  es.addEventListener('hello', (msg) => {
    $('live').textContent = 'live';
    $('live').className = 'pill on';
    const { seq } = JSON.parse(msg.data);
    if (seq > state.lastSeq) {
      state.lastSeq = seq;
      resync().catch((err) => console.error(err));
    }
  });
  es.addEventListener('documents', (msg) => {
    const docs = JSON.parse(msg.data);
    for (const d of docs) state.lastSeq = Math.max(state.lastSeq, d.seq);
    // During a reload of the events list they wait for it (reloadEvents).
    if (state.pending) state.pending.push(...docs);
    else takeDocuments(docs);
  });
  es.onerror = () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'pill';
    // EventSource gives up on an answer other than 200 (a 503 beyond the server's caps): try again.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 10_000);
  };
}

loadCampaigns().catch((e) => { $('empty').textContent = `cannot read the ledger: ${e.message}`; });
connect();
