// jkbalancer live status page. Reads the status worker's JSON API every POLL_MS and updates the
// page in place (rows are kept, so focus and half-typed values survive a refresh); every change is
// a same-origin request to the same API. Data only ever reaches the DOM through textContent and
// attribute setters, never as markup.
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
    const entry = { section, tbody: section.querySelector('tbody'), rows: new Map() };
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
    return { tr, form, prevElected: null, prevAt: 0 };
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

    const d = m.drain;
    setText(tr, 'sessions_seen', d ? String(d.sessions_seen) : '–');
    setText(tr, 'last_sticky', !d ? '–' : d.last_sticky_ago < 0 ? 'never' : `${duration(d.last_sticky_ago)} ago`);
    let drain = '–';
    if (d && d.stop_in >= 0) drain = `stops in ${duration(d.stop_in)}`;
    else if (d && m.activation === 'DIS') drain = 'draining (no policy)';
    setText(tr, 'drain', drain);

    tr.querySelector('[data-action="recover"]').hidden = m.state !== 'ERR';
    // Keep what the operator is typing; otherwise show the live values.
    const form = row.form;
    for (const [input, value] of [[form.elements.lbfactor, m.lbfactor], [form.elements.distance, m.distance]]) {
      if (!input.dataset.dirty && document.activeElement !== input) input.value = String(value);
    }
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
    for (const lb of data.balancers || []) {
      seenLbs.add(lb.name);
      const entry = lbs.get(lb.name) || createLb(lb.name);
      container.appendChild(entry.section); // keeps the API's order; a no-op when already in place
      updateLb(entry, lb);
      const seenMembers = new Set();
      for (const m of lb.members) {
        seenMembers.add(m.name);
        let row = entry.rows.get(m.name);
        if (!row) {
          row = createRow(lb.name, m.name);
          entry.rows.set(m.name, row);
        }
        if (entry.tbody.lastElementChild !== row.tr) entry.tbody.appendChild(row.tr);
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
      const res = await fetch(apiUrl({ cmd: 'list', mime: 'json' }), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
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

  poll();
})();
