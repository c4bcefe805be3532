// jkbalancer live status page. Reads the status worker's JSON API every POLL_MS and updates the
// page in place (rows are kept, so focus and half-typed values survive a refresh); every change is
// a same-origin request to the same API. Data only ever reaches the DOM through textContent and
// attribute setters, never as markup. The history (cmd=history) is fetched whole once, then only
// what is newer, and drawn as SVG built here (no chart library, no CDN).
'use strict';

(() => {
  const POLL_MS = 2000;
  const ACTIVATIONS = { activate: ['a', 'Activate'], disable: ['d', 'Disable'], stop: ['s', 'Stop'] };

  const $ = (id) => document.getElementById(id);
  const lbTemplate = $('lb-template');
  const memberTemplate = $('member-template');
  const container = $('balancers');
  const feedback = $('feedback');
  const connection = $('connection');
  const latencyToggle = $('latency-toggle');
  let showLatency = false;

  /** lb name → { section, rows: Map(member name → row state) } */
  const lbs = new Map();
  /** Heading ids stay unique when balancers come and go with reloads (lbs.size would repeat one). */
  let lbCount = 0;
  let pollTimer = 0;
  let polling = false;
  let pollAgain = false;

  /** A URL of this same status worker (whatever its mount path) with the given query. */
  function apiUrl(params) {
    const u = new URL(location.pathname, location.origin);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
    return u.toString();
  }

  // ------------------------------------------------------------------ formatting

  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
  }

  function duration(sec) {
    if (sec < 60) return `${sec} s`;
    if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
    return `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
  }

  function setText(root, field, text) {
    const el = root.querySelector(`[data-field="${field}"]`);
    if (el.textContent !== text) el.textContent = text;
  }

  // ------------------------------------------------------------------ feedback

  function say(message, ok) {
    feedback.textContent = message;
    feedback.classList.toggle('error', !ok);
    feedback.classList.toggle('ok', ok);
  }

  /** Sends one status command; reports the API's own result message (or why there is none). */
  async function command(params, what) {
    let res;
    try {
      res = await fetch(apiUrl({ ...params, mime: 'json' }), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch (err) {
      say(`${what}: the status worker could not be reached (${err.message}).`, false);
      return false;
    }
    let result = null;
    try {
      result = (await res.json()).result;
    } catch {
      // Not JSON (an error page of something in between): described below by the HTTP status.
    }
    if (res.status === 401) {
      say(`${what}: refused — Access denied (HTTP 401, log in with the status worker's credentials).`, false);
      return false;
    }
    if (!result) {
      say(`${what}: unexpected answer (HTTP ${res.status}).`, false);
      return false;
    }
    if (result.type !== 'OK') {
      say(`${what}: refused — ${result.message}`, false);
      return false;
    }
    say(`${what}: done — ${result.message}`, true);
    poll();
    return true;
  }

  // ------------------------------------------------------------------ building

  function createLb(name) {
    const section = lbTemplate.content.firstElementChild.cloneNode(true);
    const headingId = `lb-${lbCount++}-name`;
    const heading = section.querySelector('.lb-name');
    heading.id = headingId;
    heading.textContent = `Load balancer ${name}`;
    section.setAttribute('aria-labelledby', headingId);
    section.querySelector('caption').textContent = `Members of ${name}`;
    const reset = section.querySelector('.lb-reset');
    reset.setAttribute('aria-label', `Reset counters of ${name}`);
    reset.addEventListener('click', () => command({ cmd: 'reset', w: name }, `Reset ${name}`));
    const entry = { name, section, tbody: section.querySelector('tbody'), rows: new Map(), chart: section.querySelector('.lb-chart svg'), legend: section.querySelector('.legend') };
    lbs.set(name, entry);
    return entry;
  }

  function createRow(lb, name) {
    const tr = memberTemplate.content.firstElementChild.cloneNode(true);
    tr.dataset.member = name;
    setText(tr, 'name', name);
    tr.querySelector('.buttons').setAttribute('aria-label', `Actions for ${name}`);
    for (const button of tr.querySelectorAll('button[data-action]')) {
      const action = button.dataset.action;
      button.setAttribute('aria-label', `${button.textContent} ${name}`);
      button.addEventListener('click', () => {
        if (action in ACTIVATIONS) {
          const [code, label] = ACTIVATIONS[action];
          command({ cmd: 'update', w: lb, sw: name, vwa: code }, `${label} ${name}`);
        } else {
          command({ cmd: action, w: lb, sw: name }, `${action === 'reset' ? 'Reset' : 'Recover'} ${name}`);
        }
      });
    }
    const form = tr.querySelector('form');
    const inputs = form.querySelectorAll('input');
    for (const input of inputs) input.addEventListener('input', () => (input.dataset.dirty = '1'));
    form.querySelector('button').setAttribute('aria-label', `Save factor and distance of ${name}`);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const factor = form.elements.lbfactor.value.trim();
      const distance = form.elements.distance.value.trim();
      if (!/^\d+$/.test(factor) || Number(factor) < 1) return say(`${name}: the factor must be a whole number of at least 1.`, false);
      if (!/^\d+$/.test(distance)) return say(`${name}: the distance must be a whole number of at least 0.`, false);
      if (await command({ cmd: 'update', w: lb, sw: name, vwf: factor, vwd: distance }, `Save ${name} (factor ${factor}, distance ${distance})`)) {
        for (const input of inputs) delete input.dataset.dirty;
      }
    });
    return { name, tr, form, chart: tr.querySelector('svg.chart'), bar: tr.querySelector('.drain-bar'), fill: tr.querySelector('.drain-fill'), prevElected: null, prevAt: 0, member: null };
  }

  // ------------------------------------------------------------------ updating

  function updateLb(entry, lb) {
    const s = entry.section;
    setText(s, 'method', lb.method);
    setText(s, 'sticky_session', lb.sticky_session ? 'yes' : 'no');
    setText(s, 'sticky_session_force', lb.sticky_session_force ? 'yes' : 'no');
    setText(s, 'retries', String(lb.retries));
    setText(s, 'rating', `${lb.good} / ${lb.degraded} / ${lb.bad}`);
    setText(s, 'busy', `${lb.busy} (${lb.max_busy})`);
  }

  function updateRow(row, m, at) {
    const tr = row.tr;
    tr.classList.remove('good', 'degraded', 'bad');
    tr.classList.add(m.rating);
    setText(tr, 'address', m.address);
    setText(tr, 'activation', m.activation);
    tr.querySelector('[data-field="activation"]').dataset.value = m.activation;
    setText(tr, 'state', m.state);
    tr.querySelector('[data-field="state"]').dataset.value = m.state.startsWith('ERR') ? 'ERR' : m.state === 'OK/BUSY' ? 'BUSY' : 'OK';
    updateHealth(tr, m.health);
    setText(tr, 'route', m.route);
    setText(tr, 'domain', m.domain ? `domain ${m.domain}` : '');
    setText(tr, 'redirect', m.redirect ? `redirect ${m.redirect}` : '');
    setText(tr, 'lbfactor', String(m.lbfactor));
    setText(tr, 'distance', String(m.distance));
    setText(tr, 'busy', `${m.busy} (${m.max_busy})`);
    setText(tr, 'errors', m.client_errors ? `${m.errors} (+${m.client_errors} client)` : String(m.errors));
    setText(tr, 'bytes', `${bytes(m.transferred)} / ${bytes(m.read)}`);

    // Requests per second from the change of `elected` since the previous poll (a reset restarts it).
    let rate = '–';
    if (row.prevElected !== null && m.elected >= row.prevElected && at > row.prevAt) {
      rate = ((m.elected - row.prevElected) / ((at - row.prevAt) / 1000)).toFixed(1);
    }
    row.prevElected = m.elected;
    row.prevAt = at;
    setText(tr, 'rate', rate);

    row.member = m;
    const d = m.drain;
    setText(tr, 'sessions_seen', d ? String(d.sessions_seen) : '–');
    setText(tr, 'sessions_word', d && d.sessions_seen === 1 ? 'session' : 'sessions');
    setText(tr, 'last_sticky', !d ? '–' : d.last_sticky_ago < 0 ? 'never' : `${duration(d.last_sticky_ago)} ago`);

    tr.querySelector('[data-action="recover"]').hidden = m.state !== 'ERR';
    // Keep what the operator is typing; otherwise show the live values.
    const form = row.form;
    for (const [input, value] of [[form.elements.lbfactor, m.lbfactor], [form.elements.distance, m.distance]]) {
      if (!input.dataset.dirty && document.activeElement !== input) input.value = String(value);
    }
  }

  /** The member's active health checks: last result, and how long ago / why it failed. */
  function updateHealth(tr, h) {
    const badge = tr.querySelector('[data-field="health"]');
    let text = '–';
    let detail = '';
    let value = 'NONE';
    if (h && h.last_result === null) {
      text = 'pending';
      detail = h.uri === null ? h.method : `${h.method} ${h.uri}`;
    } else if (h) {
      const ago = `${duration(h.last_check_ago)} ago`;
      text = h.last_result === 'ok' ? 'pass' : `fail ×${h.consecutive_fails}`;
      value = h.last_result === 'ok' ? 'OK' : 'ERR';
      detail = h.last_result === 'ok' ? `${h.latency_ms} ms, ${ago}` : `${h.reason}, ${ago}`;
    }
    setText(tr, 'health', text);
    setText(tr, 'health_detail', detail);
    if (badge.dataset.value !== value) badge.dataset.value = value;
  }

  /**
   * Puts `node` right after `prev` (first in `parent` when prev is null), moving it only when it is
   * elsewhere: a move takes it out of the document for an instant, and the keyboard focus inside it
   * with it — a refresh that re-inserted every row would send a keyboard user back to the start.
   */
  function placeAfter(parent, prev, node) {
    const want = prev ? prev.nextElementSibling : parent.firstElementChild;
    if (want !== node) parent.insertBefore(node, want);
  }

  function render(data) {
    const at = performance.now();
    const server = data.server ? `${data.server.name}:${data.server.port}` : '';
    const software = data.software ? data.software.web_server : '';
    $('server').textContent = [server, software].filter(Boolean).join(' — ');
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    renderShared(data.shared_state);
    if (data.result && data.result.type !== 'OK') {
      showConnection(`The status worker refused the listing: ${data.result.message}`);
      return;
    }
    const seenLbs = new Set();
    let prevSection = null;
    for (const lb of data.balancers || []) {
      seenLbs.add(lb.name);
      const entry = lbs.get(lb.name) || createLb(lb.name);
      placeAfter(container, prevSection, entry.section); // the API's order
      prevSection = entry.section;
      updateLb(entry, lb);
      const seenMembers = new Set();
      let prevRow = null;
      for (const m of lb.members) {
        seenMembers.add(m.name);
        let row = entry.rows.get(m.name);
        if (!row) {
          row = createRow(lb.name, m.name);
          entry.rows.set(m.name, row);
        }
        placeAfter(entry.tbody, prevRow, row.tr);
        prevRow = row.tr;
        updateRow(row, m, at);
      }
      for (const [name, row] of entry.rows) {
        if (!seenMembers.has(name)) {
          row.tr.remove();
          entry.rows.delete(name);
        }
      }
    }
    for (const [name, entry] of lbs) {
      if (!seenLbs.has(name)) {
        entry.section.remove();
        lbs.delete(name);
      }
    }
    if (lbs.size === 0 && !container.querySelector('.empty')) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = 'This configuration has no load balancer workers.';
      container.appendChild(p);
    } else if (lbs.size > 0) {
      container.querySelector('.empty')?.remove();
    }
    renderAudit(data.audit || []);
    drawAll();
  }

  /** The shared state link (--state-redis): where the admin state lives, and whether changes are taken. */
  function renderShared(shared) {
    const el = $('shared-state');
    el.hidden = !shared;
    if (!shared) return;
    const up = shared.link === 'up';
    el.classList.toggle('shared-down', !up);
    el.textContent = up
      ? `Shared state: ${shared.store} connected`
      : `Shared state: ${shared.store} DOWN since ${new Date(shared.since).toLocaleTimeString()}${shared.error ? ` (${shared.error})` : ''} — serving the last known state, changes refused`;
  }

  /** "Recent changes": the newest AUDIT_SHOWN entries of the audit trail, newest first (text only). */
  const AUDIT_SHOWN = 20;
  function renderAudit(audit) {
    const list = $('audit-list');
    const items = audit.slice(-AUDIT_SHOWN).reverse().map((e) => {
      const li = document.createElement('li');
      const who = [e.user === null ? null : `user ${e.user}`, e.remote === null ? null : `from ${e.remote}`, e.instance ? `on ${e.instance}` : null].filter(Boolean).join(' ');
      const what = `${e.lb}${e.member === null ? '' : `/${e.member}`} ${e.field}`;
      const change = e.old === null && e.new === null ? '' : `: ${e.old ?? ''} → ${e.new ?? ''}`;
      li.textContent = `${new Date(e.time).toLocaleString()} [${e.source}${who ? ` ${who}` : ''}] ${what}${change}`;
      return li;
    });
    list.replaceChildren(...items);
    $('audit-empty').hidden = items.length > 0;
  }

  // ------------------------------------------------------------------ history

  /** Columns of a series the page keeps (cmd=history's names). */
  const COLUMNS = ['time', 'requests_per_sec', 'member_errors_per_sec', 'client_errors_per_sec', 'no_member_per_sec', 'p50_ms', 'p95_ms', 'sessions'];
  /** The history so far: lb name → { samples, members: Map(name → { samples, events }) }. */
  const hist = { ok: false, intervalMs: 5000, slots: 720, now: 0, newest: 0, lbs: new Map() };

  function emptySeries() {
    const s = {};
    for (const c of COLUMNS) s[c] = [];
    return s;
  }

  /** Appends newer samples and drops those older than the window. */
  function appendSeries(into, from, oldest) {
    for (const c of COLUMNS) if (from[c]) into[c].push(...from[c]);
    let drop = 0;
    while (drop < into.time.length && into.time[drop] <= oldest) drop++;
    if (drop > 0) for (const c of COLUMNS) into[c].splice(0, drop);
  }

  function mergeHistory(h) {
    hist.ok = true;
    hist.intervalMs = h.interval_ms;
    hist.slots = h.slots;
    hist.now = h.now;
    const oldest = h.now - h.slots * h.interval_ms;
    const seenLbs = new Set();
    for (const lb of h.balancers) {
      seenLbs.add(lb.name);
      let e = hist.lbs.get(lb.name);
      if (!e) hist.lbs.set(lb.name, (e = { samples: emptySeries(), members: new Map() }));
      appendSeries(e.samples, lb.samples, oldest);
      const t = lb.samples.time;
      if (t.length > 0) hist.newest = Math.max(hist.newest, t[t.length - 1]);
      const seenMembers = new Set();
      for (const m of lb.members) {
        seenMembers.add(m.name);
        let me = e.members.get(m.name);
        if (!me) e.members.set(m.name, (me = { samples: emptySeries(), events: [] }));
        appendSeries(me.samples, m.samples, oldest);
        // An event between two samples comes again with the next answer: keep one of each.
        for (const ev of m.events) {
          if (!me.events.some((x) => x.time === ev.time && x.field === ev.field && x.new === ev.new)) me.events.push(ev);
        }
        me.events = me.events.filter((ev) => ev.time > oldest);
      }
      for (const name of e.members.keys()) if (!seenMembers.has(name)) e.members.delete(name);
    }
    for (const name of hist.lbs.keys()) if (!seenLbs.has(name)) hist.lbs.delete(name);
  }

  /** Fetches what is newer than the newest sample the page has; a failure leaves the charts as they are. */
  async function pollHistory() {
    try {
      const res = await fetch(apiUrl({ cmd: 'history', mime: 'json', since: hist.newest }), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      const data = await res.json();
      if (data.result && data.result.type === 'OK' && data.history) mergeHistory(data.history);
    } catch {
      // The listing's own poll reports an unreachable status worker.
    }
  }

  // ------------------------------------------------------------------ charts

  const SVG_NS = 'http://www.w3.org/2000/svg';
  let chartIds = 0;

  function svgEl(name, attrs, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  /** The smallest of 1, 2, 2.5, 5 × 10^k that is at least v (at least `floor`). */
  function niceMax(v, floor) {
    if (!(v > floor)) return floor;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function num(v) {
    if (v === 0) return '0';
    return v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\.?0+$/, '');
  }

  function ms(v) {
    return v >= 1000 ? `${num(v / 1000)} s` : `${num(v)} ms`;
  }

  function clock(t) {
    return new Date(t).toLocaleTimeString();
  }

  function span(msLong) {
    const sec = Math.round(msLong / 1000);
    return sec < 120 ? `${sec} s` : `${Math.round(sec / 60)} min`;
  }

  /** The lines a chart draws in the current mode, from a series (lb: with our own 503s). */
  function linesOf(s, lb) {
    if (showLatency) {
      return [
        { cls: 'l-p50', label: 'p50 latency', values: s.p50_ms, unit: 'ms' },
        { cls: 'l-p95', label: 'p95 latency', values: s.p95_ms, unit: 'ms' },
      ];
    }
    const lines = [
      { cls: 'l-requests', label: 'requests/s', values: s.requests_per_sec, area: true },
      { cls: 'l-errors', label: 'member errors/s', values: s.member_errors_per_sec },
      { cls: 'l-client', label: 'client errors/s', values: s.client_errors_per_sec },
    ];
    if (lb) lines.push({ cls: 'l-nomember', label: 'no member (503)/s', values: s.no_member_per_sec });
    return lines;
  }

  function eventText(ev, member) {
    return `${clock(ev.time)} ${member ? `${member} ` : ''}${ev.field} ${ev.old} → ${ev.new}`;
  }

  /** "requests/s now 0, peak 12.5" for each line: what a screen reader hears instead of the picture. */
  function summary(lines, events) {
    const parts = lines.map((l) => {
      const vals = l.values.filter((v) => v !== null);
      const fmt = l.unit === 'ms' ? ms : num;
      if (vals.length === 0) return `${l.label}: no data`;
      return `${l.label} now ${fmt(vals[vals.length - 1])}, peak ${fmt(Math.max(...vals))}`;
    });
    const changes = events.length === 0 ? 'no state changes' : `${events.length} state change${events.length === 1 ? '' : 's'}: ${events.map((e) => e.text).join('; ')}`;
    return `${parts.join('; ')}; ${changes}.`;
  }

  /**
   * Draws a chart into `svg` (replacing what it had): lines over [start, end], events as marks on the
   * time axis, named and described for screen readers (role="img", <title> and <desc>).
   */
  function drawChart(svg, { title, times, lines, events, start, end, compact }) {
    // Drawn in CSS pixels at the width the chart has, so text and lines keep their size on any screen.
    const W = Math.max(120, Math.round(svg.getBoundingClientRect().width) || (compact ? 144 : 640));
    const H = compact ? 44 : W < 480 ? 120 : 150;
    const pad = compact ? { l: 2, r: 2, t: 11, b: 3 } : { l: 46, r: 8, t: 10, b: 20 };
    const pw = W - pad.l - pad.r;
    const ph = H - pad.t - pad.b;
    const latency = lines[0] && lines[0].unit === 'ms';
    let peak = 0;
    for (const l of lines) for (const v of l.values) if (v !== null && v > peak) peak = v;
    const top = niceMax(peak, latency ? 10 : 1);
    const x = (t) => pad.l + (end > start ? ((t - start) / (end - start)) * pw : pw);
    const y = (v) => pad.t + ph - (Math.min(v, top) / top) * ph;
    const fmt = latency ? ms : (v) => `${num(v)}/s`;

    if (!svg.id) svg.id = `chart-${chartIds++}`;
    const titleEl = svgEl('title', { id: `${svg.id}-title` }, title);
    const descEl = svgEl('desc', { id: `${svg.id}-desc` }, times.length === 0 ? 'No samples yet.' : summary(lines, events));
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('aria-labelledby', titleEl.id);
    svg.setAttribute('aria-describedby', descEl.id);
    const parts = [titleEl, descEl];

    parts.push(svgEl('line', { class: 'axis', x1: pad.l, x2: W - pad.r, y1: pad.t + ph, y2: pad.t + ph }));
    if (!compact) {
      parts.push(svgEl('line', { class: 'grid', x1: pad.l, x2: W - pad.r, y1: pad.t, y2: pad.t }));
      parts.push(svgEl('line', { class: 'grid', x1: pad.l, x2: W - pad.r, y1: pad.t + ph / 2, y2: pad.t + ph / 2 }));
      parts.push(svgEl('text', { class: 'tick', x: pad.l - 4, y: pad.t + 4, 'text-anchor': 'end' }, fmt(top)));
      parts.push(svgEl('text', { class: 'tick', x: pad.l - 4, y: pad.t + ph / 2 + 4, 'text-anchor': 'end' }, fmt(top / 2)));
      parts.push(svgEl('text', { class: 'tick', x: pad.l - 4, y: pad.t + ph + 4, 'text-anchor': 'end' }, '0'));
      parts.push(svgEl('text', { class: 'tick', x: pad.l, y: H - 4 }, `−${span(end - start)}`));
      parts.push(svgEl('text', { class: 'tick', x: W - pad.r, y: H - 4, 'text-anchor': 'end' }, 'now'));
    } else {
      parts.push(svgEl('text', { class: 'tick', x: pad.l, y: 9 }, `max ${fmt(top)}`));
    }

    for (const l of lines) {
      let d = '';
      let open = false;
      let first = -1;
      let last = -1;
      for (let i = 0; i < times.length; i++) {
        const v = l.values[i];
        if (v === null || v === undefined) {
          open = false;
          continue;
        }
        d += `${open ? 'L' : 'M'}${x(times[i]).toFixed(1)} ${y(v).toFixed(1)} `;
        open = true;
        if (first < 0) first = i;
        last = i;
      }
      if (d === '') continue;
      if (l.area && first >= 0) {
        const base = (pad.t + ph).toFixed(1);
        parts.push(svgEl('path', { class: `area ${l.cls}`, d: `M${x(times[first]).toFixed(1)} ${base} ${d.replace(/^M/, 'L')}L${x(times[last]).toFixed(1)} ${base} Z` }));
      }
      parts.push(svgEl('path', { class: `line ${l.cls}`, d }));
    }

    for (const ev of events) {
      if (ev.time < start || ev.time > end) continue;
      const ex = x(ev.time).toFixed(1);
      const mark = svgEl('g', { class: `event ev-${ev.field}` });
      mark.appendChild(svgEl('title', {}, ev.text));
      mark.appendChild(svgEl('line', { x1: ex, x2: ex, y1: pad.t, y2: pad.t + ph }));
      mark.appendChild(svgEl('path', { d: `M${ex} ${pad.t + ph} l-3 ${compact ? 3 : 5} h6 Z` }));
      if (!compact && ev.label) mark.appendChild(svgEl('text', { class: 'event-label', x: Number(ex) + 3, y: pad.t + 9 }, ev.label));
      parts.push(mark);
    }
    svg.replaceChildren(...parts);
  }

  function legendOf(entry) {
    const lines = linesOf(emptySeries(), true);
    const items = lines.map((l) => {
      const span = document.createElement('span');
      span.className = `key ${l.cls}`;
      span.textContent = l.label;
      return span;
    });
    const ev = document.createElement('span');
    ev.className = 'key k-event';
    ev.textContent = 'state or activation change';
    items.push(ev);
    entry.legend.replaceChildren(...items);
  }

  /** Every chart and drain indicator, from the history and the last listing. */
  function drawAll() {
    // The balancer's clock (the history's `now`), not the browser's: the two may differ.
    const end = hist.ok ? hist.now : Date.now();
    for (const entry of lbs.values()) {
      const h = hist.lbs.get(entry.name);
      const windowStart = end - hist.slots * hist.intervalMs;
      // Charts start at the oldest sample kept (at most the whole window), the same for every chart of the lb.
      const first = h && h.samples.time.length > 0 ? h.samples.time[0] - hist.intervalMs : end - 12 * hist.intervalMs;
      const start = Math.max(windowStart, Math.min(first, end - 12 * hist.intervalMs));
      const allEvents = [];
      for (const row of entry.rows.values()) {
        const mh = h && h.members.get(row.name);
        const s = mh ? mh.samples : emptySeries();
        const events = (mh ? mh.events : []).map((ev) => ({ ...ev, text: eventText(ev, null), label: `${row.name} ${ev.new}` }));
        allEvents.push(...(mh ? mh.events : []).map((ev) => ({ ...ev, text: eventText(ev, row.name), label: `${row.name} ${ev.new}` })));
        drawChart(row.chart, {
          title: `${row.name}: ${showLatency ? 'latency' : 'requests and errors per second'}, last ${span(end - start)}`,
          times: s.time,
          lines: linesOf(s, false),
          events,
          start,
          end,
          compact: true,
        });
        drawDrain(row, s, mh ? mh.events : []);
      }
      const s = h ? h.samples : emptySeries();
      allEvents.sort((a, b) => a.time - b.time);
      drawChart(entry.chart, {
        title: `Load balancer ${entry.name}: ${showLatency ? 'latency of the requests its members answered' : 'requests and errors per second'}, last ${span(end - start)}`,
        times: s.time,
        lines: linesOf(s, true),
        events: allEvents,
        start,
        end,
        compact: false,
      });
      legendOf(entry);
    }
  }

  // ------------------------------------------------------------------ drain progress

  /** Sessions per minute over the last minute of samples (least squares), or null with too few. */
  function trendPerMinute(times, values, since) {
    const pts = [];
    for (let i = 0; i < times.length; i++) if (times[i] >= since) pts.push([times[i], values[i]]);
    if (pts.length < 3) return null;
    const mt = pts.reduce((a, p) => a + p[0], 0) / pts.length;
    const mv = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    let num2 = 0;
    let den = 0;
    for (const [t, v] of pts) {
      num2 += (t - mt) * (v - mv);
      den += (t - mt) ** 2;
    }
    return den === 0 ? 0 : (num2 / den) * 60_000;
  }

  /**
   * The drain indicator of one member: sessions still pinned against the most it had since it was
   * disabled, their trend, when they will be gone at this pace, and when the drain policy stops it.
   */
  function drawDrain(row, s, events) {
    const m = row.member;
    const tr = row.tr;
    const d = m && m.drain;
    const draining = m && m.activation === 'DIS' && d;
    row.bar.hidden = !draining;
    if (!d) {
      setText(tr, 'trend', '');
      setText(tr, 'eta', '');
      setText(tr, 'drain', '–');
      return;
    }
    const now = d.sessions_seen;
    if (!draining) {
      setText(tr, 'trend', '');
      setText(tr, 'eta', '');
      setText(tr, 'drain', m.activation === 'STP' ? 'stopped' : '');
      return;
    }
    const disabledAt = events.filter((e) => e.field === 'activation' && e.new === 'DIS').reduce((a, e) => Math.max(a, e.time), 0);
    let peak = now;
    for (let i = 0; i < s.time.length; i++) if (s.time[i] >= disabledAt && s.sessions[i] > peak) peak = s.sessions[i];
    const drained = peak === 0 ? 100 : Math.round(((peak - now) / peak) * 100);
    row.fill.style.width = `${drained}%`;
    row.bar.setAttribute('aria-valuenow', String(drained));
    row.bar.setAttribute('aria-valuetext', `${now} of ${peak} sessions still pinned`);
    row.bar.setAttribute('aria-label', `Drain of ${row.name}`);

    const newest = s.time.length > 0 ? s.time[s.time.length - 1] : 0;
    const slope = trendPerMinute(s.time, s.sessions, Math.max(disabledAt, newest - 60_000));
    let trend = '';
    if (slope !== null) trend = slope < -0.05 ? `falling ${num(-slope)}/min` : slope > 0.05 ? `rising ${num(slope)}/min` : 'steady';
    setText(tr, 'trend', trend && now > 0 ? `(${trend})` : '');

    let emptyIn = null;
    if (now === 0) setText(tr, 'eta', 'empty');
    else if (slope !== null && slope < -0.05) {
      emptyIn = Math.ceil((now / -slope) * 60);
      setText(tr, 'eta', `empty in ≈ ${duration(emptyIn)}`);
    } else setText(tr, 'eta', '');

    let drain = 'draining (no policy)';
    if (d.stop_in >= 0) {
      drain = `stops in ${duration(d.stop_in)} (${d.stop_reason === 'deadline' ? 'deadline' : 'idle'})`;
      if (emptyIn !== null && d.stop_reason === 'deadline' && d.stop_in < emptyIn) drain += ', before it is empty';
    }
    setText(tr, 'drain', drain);
  }

  function showConnection(message) {
    connection.textContent = message;
    connection.hidden = false;
  }

  // ------------------------------------------------------------------ polling

  /** One poll at a time; a poll asked for meanwhile (after a change) runs right after it. */
  async function poll() {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    clearTimeout(pollTimer);
    try {
      const [res] = await Promise.all([
        fetch(apiUrl({ cmd: 'list', mime: 'json' }), { credentials: 'same-origin', headers: { Accept: 'application/json' } }),
        pollHistory(),
      ]);
      if (res.status === 401) {
        showConnection('Access denied (HTTP 401): log in with the status worker\'s credentials and reload.');
      } else {
        const data = await res.json();
        if (!data.result || data.result.type === 'OK') connection.hidden = true;
        render(data);
      }
    } catch (err) {
      showConnection(`Cannot read the status: ${err.message}. Retrying…`);
    } finally {
      polling = false;
    }
    if (pollAgain) {
      pollAgain = false;
      poll();
    } else {
      pollTimer = setTimeout(poll, POLL_MS);
    }
  }

  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawAll, 150);
  });

  latencyToggle.addEventListener('click', () => {
    showLatency = !showLatency;
    latencyToggle.setAttribute('aria-pressed', String(showLatency));
    drawAll();
  });

  poll();
})();
