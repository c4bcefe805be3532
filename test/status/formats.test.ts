/**
 * Output formats of the status worker over real HTTP: every command × every mime, shapes of
 * docs/status-worker.md#output-formats.
 */
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { State } from '../../src/routing/types.js';
import { parseProps, parseTxtLine, startHarness, type Harness } from './harness.js';

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, isArray: (n) => ['jk:member', 'jk:map', 'jk:balancer'].includes(n) });

const MEMBER_XML_ORDER = [
  'name', 'type', 'host', 'port', 'address', 'source', 'connection_pool_timeout', 'ping_timeout', 'connect_timeout',
  'prepost_timeout', 'reply_timeout', 'connection_ping_interval', 'retries', 'recovery_options', 'busy_limit',
  'max_packet_size', 'activation', 'lbfactor', 'route', 'redirect', 'domain', 'distance', 'state', 'lbmult', 'lbvalue',
  'elected', 'sessions', 'errors', 'client_errors', 'reply_timeouts', 'transferred', 'read', 'busy', 'max_busy',
  'connected', 'max_connected', 'time_to_recover_min', 'time_to_recover_max', 'last_reset_at', 'last_reset_ago',
];
const LB_ORDER = [
  'name', 'type', 'sticky_session', 'sticky_session_force', 'retries', 'recover_time', 'error_escalation_time',
  'max_reply_timeouts', 'method', 'lock', 'member_count', 'good', 'degraded', 'bad', 'busy', 'max_busy', 'map_count',
  'time_to_maintenance_min', 'time_to_maintenance_max', 'last_reset_at', 'last_reset_ago',
];
const MAP_ORDER = ['id', 'server', 'uri', 'type', 'source', 'reply_timeout', 'sticky_ignore', 'stateless', 'fail_on_status', 'active', 'disabled', 'stopped', 'use_server_errors'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('every command in every mime', () => {
  const commands: [string, string][] = [
    ['list', 'cmd=list'],
    ['show', 'cmd=show&w=lb'],
    ['edit', 'cmd=edit&w=lb'],
    ['update', 'cmd=update&w=lb&vlx=0'],
    ['reset', 'cmd=reset&w=lb&sw=n3'],
    ['recover', 'cmd=recover&w=lb&sw=n1'],
    ['version', 'cmd=version'],
    ['dump', 'cmd=dump'],
  ];
  const types: Record<string, string> = {
    html: 'text/html', xml: 'text/xml', txt: 'text/plain', prop: 'text/plain', json: 'application/json',
  };
  for (const [cmd, query] of commands) {
    for (const mime of ['html', 'xml', 'txt', 'prop', 'json']) {
      it(`${cmd} as ${mime}`, async () => {
        const r = await h.get(`${query}&mime=${mime}`);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toContain(types[mime]);
        expect(r.headers.get('cache-control')).toBe('no-cache');
        expect(r.headers.get('pragma')).toBe('no-cache');
        // recover needs a member in ERROR: n1 is not, so it must fail with mod_jk's message.
        const ok = cmd !== 'recover';
        const message = ok ? 'Action finished' : 'Marking worker for recovery failed';
        const hasHead = ['list', 'show', 'version', 'dump'].includes(cmd);
        const hasServer = hasHead || cmd === 'edit';
        switch (mime) {
          case 'xml': {
            const doc = xml.parse(r.body)['jk:status'];
            expect(doc['jk:result']).toEqual({ type: ok ? 'OK' : 'ERROR', message });
            expect(doc['jk:server'] !== undefined).toBe(hasServer);
            expect(doc['jk:time'] !== undefined).toBe(hasHead);
            expect(doc['jk:software'] !== undefined).toBe(hasHead);
            break;
          }
          case 'txt':
            expect(r.body.trimEnd().split('\n').at(-1)).toBe(`Result: type=${ok ? 'OK' : 'ERROR'} message="${message}"`);
            expect(r.body.startsWith('Server: name=www.example.com port=80')).toBe(hasServer);
            expect(r.body.includes('\nSoftware: web_server="jkbalancer/')).toBe(hasHead);
            break;
          case 'prop': {
            const p = parseProps(r.body);
            expect(p.get('worker.result.type')).toBe(ok ? 'OK' : 'ERROR');
            expect(p.get('worker.result.message')).toBe(message);
            expect(p.has('worker.server_name')).toBe(hasServer);
            expect(p.has('worker.time_unix')).toBe(hasHead);
            break;
          }
          case 'json': {
            const j = JSON.parse(r.body);
            expect(j.result).toEqual({ type: ok ? 'OK' : 'ERROR', message });
            expect(j.server !== undefined).toBe(hasServer);
            expect(j.software !== undefined).toBe(hasHead);
            break;
          }
          case 'html':
            expect(r.body).toContain('<title>JK Status Manager</title>');
            if (!ok) expect(r.body).toContain(`Result: ERROR - ${message}`);
            break;
        }
      });
    }
  }
});

describe('xml', () => {
  it('parses into the element/attribute structure of docs/status-worker.md#output-formats', async () => {
    const r = await h.get('mime=xml');
    expect(r.body.startsWith('<?xml version="1.0" encoding="UTF-8" ?>\n<jk:status\n  xmlns:jk="http://tomcat.apache.org">\n')).toBe(true);
    const doc = xml.parse(r.body)['jk:status'];
    expect(doc['jk:server']).toEqual({ name: 'www.example.com', port: '80' });
    expect(doc['jk:time'].datetime).toMatch(/^\d{14}$/);
    expect(doc['jk:time'].tz).toMatch(/^[+-]\d{4}$/);
    expect(Number(doc['jk:time'].unix)).toBeGreaterThan(1_600_000_000);
    expect(doc['jk:balancers'].count).toBe('1');
    const lb = doc['jk:balancers']['jk:balancer'][0];
    expect(Object.keys(lb).filter((k) => !k.startsWith('jk:'))).toEqual([...LB_ORDER, 'overrides']);
    expect(lb).toMatchObject({ name: 'lb', type: 'lb', sticky_session: 'True', sticky_session_force: 'False', method: 'Request', lock: 'Optimistic', member_count: '3', good: '2', degraded: '1', bad: '0', map_count: '4' });
    expect(lb['jk:member'].map((m: Record<string, string>) => m.name)).toEqual(['n1', 'n2', 'n3']);
    const n2 = lb['jk:member'][1];
    expect(n2).toMatchObject({ type: 'http', host: 'localhost', port: '8080', address: 'localhost:8080', source: 'undefined', lbfactor: '2', lbmult: '1', route: 'node2.blue', domain: 'node2', activation: 'ACT', state: 'OK/IDLE' });
    expect(lb['jk:member'][2]).toMatchObject({ activation: 'DIS', distance: '1' });
    expect(lb['jk:map'].map((m: Record<string, string>) => Object.keys(m))).toEqual(Array(4).fill(MAP_ORDER));
    const api = lb['jk:map'].find((m: Record<string, string>) => m.uri === '/api/*');
    expect(api).toMatchObject({ type: 'Wildchar', source: 'uriworkermap', reply_timeout: '5000', sticky_ignore: '1', stateless: '0', fail_on_status: '503,-404', active: 'n3' });
    expect(lb['jk:map'].find((m: Record<string, string>) => m.uri === '/old/*').type).toBe('Disabled Wildchar');
    expect(lb['jk:map'].find((m: Record<string, string>) => m.uri === '/app/static/*').type).toBe('Unmount Wildchar');
    expect(doc['jk:ajp_workers'].count).toBe('1');
    expect(doc['jk:ajp_workers']['jk:ajp']).toMatchObject({ name: 'solo', type: 'ajp13', port: '8029', used: '0', map_count: '1' });
    expect(doc['jk:result']).toEqual({ type: 'OK', message: 'Action finished' });
  });

  it('prints a member\'s attributes one per line in mod_jk\'s order', async () => {
    const r = await h.get('mime=xml&cmd=show&w=lb&sw=n1');
    const lines = r.body.split('\n');
    const start = lines.indexOf('      <jk:member');
    const end = lines.indexOf('      />', start);
    const keys = lines.slice(start + 1, end).map((l) => {
      expect(l.startsWith('        ')).toBe(true);
      return l.trim().split('=')[0];
    });
    expect(keys).toEqual([...MEMBER_XML_ORDER, 'overrides']);
    // show prints the balancer itself, without the <balancers> wrapper (as mod_jk).
    expect(r.body).not.toContain('jk:balancers');
    expect(r.body).toContain('\n  <jk:balancer\n    name="lb"\n');
  });

  it('respects ns, xmlns and doctype', async () => {
    const custom = await startHarness({ statusOverrides: { ns: 'st:', xmlns: 'xmlns:st="urn:x"', doctype: '<!DOCTYPE status>' } });
    try {
      const r = await custom.get('mime=xml&cmd=version');
      expect(r.body.split('\n').slice(0, 3)).toEqual(['<?xml version="1.0" encoding="UTF-8" ?>', '<!DOCTYPE status>', '<st:status']);
      expect(r.body).toContain('  xmlns:st="urn:x">');
      expect(r.body).toContain('<st:server\n');
      const none = await startHarness({ statusOverrides: { ns: '-', xmlns: '-' } });
      try {
        const r2 = await none.get('mime=xml&cmd=version');
        expect(r2.body).toContain('\n<status\n>\n<server\n');
        expect(new XMLParser({ ignoreAttributes: false }).parse(r2.body).status.result).toBeDefined();
      } finally {
        await none.close();
      }
    } finally {
      await custom.close();
    }
  });

  it('escapes values and lists runtime overrides', async () => {
    const b = h.balancers.get('lb')!;
    const before = b.members[0].redirect;
    b.setMember(0, 'redirect', '<x&"y>');
    try {
      const r = await h.get('mime=xml&cmd=show&w=lb&sw=n1');
      expect(r.body).toContain('redirect="&lt;x&amp;&quot;y&gt;"');
      expect(r.body).toContain('overrides="redirect"');
      expect(xml.parse(r.body)['jk:status']['jk:balancer'][0]['jk:member'][0].redirect).toBe('<x&"y>');
    } finally {
      b.setMember(0, 'redirect', before);
    }
  });
});

describe('txt', () => {
  it('has mod_jk\'s lines, key order (retries before connection_ping_interval) and quoting', async () => {
    const r = await h.get('mime=txt');
    const lines = r.body.trimEnd().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual([
      'Server', 'Time', 'Software', 'Balancer Workers', 'Balancer Worker', 'Member', 'Member', 'Member',
      'Map', 'Map', 'Map', 'Map', 'AJP Workers', 'AJP Worker', 'Map', 'Result',
    ]);
    const member = lines.find((l) => l.startsWith('Member: name=n2 '))!;
    const keys = [...parseTxtLine(member).keys()];
    const txtOrder = [...MEMBER_XML_ORDER];
    txtOrder.splice(11, 2, 'retries', 'connection_ping_interval');
    expect(keys).toEqual([...txtOrder, 'overrides']);
    expect(member).toContain(' route="node2.blue" redirect="" domain="node2" ');
    expect(lines.find((l) => l.startsWith('Balancer Worker:'))).toContain(' sticky_session=True sticky_session_force=False retries=2 ');
    expect(lines.find((l) => l.startsWith('Map:') && l.includes('/api/*'))).toContain(' reply_timeout="5000" sticky_ignore="1" ');
    // mod_jk's `server` (the virtual host of the mount; jkbalancer has none, so any: `*`), after id.
    expect(lines.filter((l) => l.startsWith('Map:')).every((l) => /^Map: id=\d+ server="\*" uri="/.test(l))).toBe(true);
    // mod_jk prints "undefined" for a member without a source address; its scripts expect that word.
    expect(member).toContain(' address=localhost:8080 source=undefined connection_pool_timeout=');
    expect(lines.find((l) => l.startsWith('AJP Worker:'))).toMatch(/^AJP Worker: name=solo type=ajp13 host=127.0.0.1 port=8029 .* used=0 errors=0 .* map_count=1 last_reset_at=\d+ last_reset_ago=\d+/);
  });
});

describe('prop', () => {
  it('uses mod_jk\'s key names, member keys under the member name', async () => {
    const b = h.balancers.get('lb')!;
    const n3 = b.members[2];
    n3.state = State.ERROR;
    n3.firstErrorTime = Date.now() - 20_000;
    n3.lastErrorTime = Date.now() - 10_000;
    try {
      const r = await h.get('mime=prop');
      const p = parseProps(r.body);
      expect(p.get('worker.server_name')).toBe('www.example.com');
      expect(p.get('worker.server_port')).toBe('80');
      expect(p.get('worker.lb_count')).toBe('1');
      expect(p.get('worker.lb.type')).toBe('lb');
      expect(p.get('worker.lb.sticky_session')).toBe('True');
      expect(p.get('worker.lb.method')).toBe('Request');
      expect(p.get('worker.n2.route')).toBe('node2.blue');
      expect(p.get('worker.n3.state')).toBe('ERR');
      expect(p.get('worker.n3.activation')).toBe('DIS');
      expect(Number(p.get('worker.n3.error_time_unix_seconds'))).toBe(Math.floor(n3.firstErrorTime / 1000));
      expect(Number(p.get('worker.n3.error_time_ago'))).toBeGreaterThanOrEqual(20);
      expect(p.get('worker.n3.error_time_datetime')).toMatch(/^\d{14}$/);
      // lb keeps its own last_reset_at (mod_jk overwrote it with member values).
      expect(Number(p.get('worker.lb.last_reset_at'))).toBe(Math.floor(b.lb.lastResetTime / 1000));
      expect(p.has('worker.n1.last_reset_at')).toBe(true);
      expect([...p.keys()].every((k) => !k.includes(' '))).toBe(true);
      expect(p.get('worker.lb.map.1.uri')).toBe('/app/static/*');
      expect(p.get('worker.lb.map.4.fail_on_status')).toBe('503,-404');
      expect([1, 2, 3, 4].map((i) => p.get(`worker.lb.map.${i}.server`))).toEqual(['*', '*', '*', '*']);
      expect(p.get('worker.solo.map.1.server')).toBe('*');
      expect(r.body).toContain('\nworker.lb.map.1.server=*\nworker.lb.map.1.uri=/app/static/*\n');
      expect(p.get('worker.ajp_count')).toBe('1');
      expect(p.get('worker.solo.type')).toBe('ajp13');
      expect(p.has('worker.solo.list')).toBe(false);
      expect(r.body).toContain('\nworker.list=solo\n');
      expect(r.body).toContain('\nworker.lb.balance_workers=n1\nworker.n1.type=ajp13\n');
      expect(p.get('worker.lb.bad')).toBe('1');
      // recover_time 60 − 10 s since the last error; the max adds one maintenance interval.
      expect(Number(p.get('worker.n3.time_to_recover_max')) - 60).toBeLessThanOrEqual(51);
      expect(Number(p.get('worker.n3.time_to_recover_min'))).toBeGreaterThanOrEqual(Number(p.get('worker.lb.time_to_maintenance_min')));
    } finally {
      b.reset(2);
    }
  });

  it('respects the prefix', async () => {
    const custom = await startHarness({ statusOverrides: { prefix: 'jk' } });
    try {
      const p = parseProps((await custom.get('mime=prop&cmd=show&w=lb&sw=n1')).body);
      expect(p.get('jk.list')).toBe('lb');
      expect(p.get('jk.n1.type')).toBe('ajp13');
      expect(p.get('jk.result.type')).toBe('OK');
    } finally {
      await custom.close();
    }
  });
});

describe('json', () => {
  it('has the documented shape with typed values, overrides and extras', async () => {
    const extras = await startHarness({ getMemberExtras: (_lb, m) => ({ drain: { member: m.name } }) });
    try {
      const b = extras.balancers.get('lb')!;
      b.setLbFactor(0, 4);
      const j = JSON.parse((await extras.get('mime=json')).body);
      expect(Object.keys(j)).toEqual(['server', 'time', 'software', 'balancers', 'ajp_workers', 'audit', 'result']);
      const lb = j.balancers[0];
      expect(lb).toMatchObject({ name: 'lb', type: 'lb', sticky_session: true, retries: 2, method: 'Request', member_count: 3, retry_interval: 100, lb_retries: 2 });
      expect(lb.members[0]).toMatchObject({ name: 'n1', lbfactor: 4, lbmult: 1, rating: 'good', drain: { member: 'n1' }, overrides: { lbfactor: { config: 1, current: 4 } } });
      expect(lb.members[1].overrides).toEqual({});
      expect(lb.members[1].error_time_unix_seconds).toBeNull();
      expect(lb.maps).toHaveLength(4);
      expect(j.ajp_workers[0]).toMatchObject({ name: 'solo', used: 0, overrides: {} });
      // No source address is null here (the mod_jk formats print mod_jk's word for it).
      expect(lb.members.map((m: { source: unknown }) => m.source)).toEqual([null, null, null]);
      expect(j.ajp_workers[0].source).toBeNull();
      expect(Object.keys(lb.maps[0])).toEqual(MAP_ORDER);
      expect(lb.maps.map((m: { server: string }) => m.server)).toEqual(['*', '*', '*', '*']);
    } finally {
      await extras.close();
    }
  });
});

describe('rating and opt', () => {
  it('rates with the configured good/bad masks', async () => {
    // bad = disabled in any state (0x0000FF00), good = everything active.
    const custom = await startHarness({ statusOverrides: { goodMask: 0x000000ff, badMask: 0x0000ff00 } });
    try {
      const p = parseProps((await custom.get('mime=prop')).body);
      expect([p.get('worker.lb.good'), p.get('worker.lb.degraded'), p.get('worker.lb.bad')]).toEqual(['2', '0', '1']);
    } finally {
      await custom.close();
    }
  });

  it('hides members (0x1), maps (0x2), balancers (0x8) and ajp workers (0x10)', async () => {
    const noMembers = (await h.get('mime=txt&opt=3')).body;
    expect(noMembers).not.toContain('Member:');
    expect(noMembers).not.toContain('Map:');
    expect(noMembers).toContain('Balancer Worker: name=lb');
    const noWorkers = (await h.get('mime=txt&opt=24')).body;
    expect(noWorkers).not.toContain('Balancer');
    expect(noWorkers).not.toContain('AJP');
  });
});

describe('dump', () => {
  it('prints the loaded properties without secrets', async () => {
    const r = await h.get('mime=prop&cmd=dump');
    expect(r.body).toContain('worker.lb.balance_workers=n1,n2,n3\n');
    expect(r.body).not.toContain('secret');
    const x = xml.parse((await h.get('mime=xml&cmd=dump')).body)['jk:status']['jk:configuration'];
    expect(x['worker.list']).toBe('lb,solo,jkstatus');
  });
});

describe('html', () => {
  it('renders the list page with member links and the all-members form', async () => {
    const b = h.balancers.get('lb')!;
    b.members[0].state = State.ERROR;
    try {
      const r = await h.get('');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.body).toContain('<h1>JK Status Manager for www.example.com:80</h1>');
      expect(r.body).toContain('Worker Status for lb');
      expect(r.body).toContain('href="/jkstatus?cmd=edit&amp;w=lb&amp;sw=n1&amp;from=list"');
      expect(r.body).toContain('href="/jkstatus?cmd=recover&amp;w=lb&amp;sw=n1&amp;from=list"');
      expect(r.body).not.toContain('cmd=recover&amp;w=lb&amp;sw=n2');
      expect(r.body).toContain('<select id="att-lb" name="att">');
      expect(r.body).toContain('URI Mappings for lb (4 maps)');
      expect(r.body).toContain('<table><tr><th>Server</th><th>URI</th><th>Match Type</th>');
      expect(r.body).toContain('<tr><td>*</td><td>/app/static/*</td><td>Unmount Wildchar</td>');
      expect(r.body).toContain('Worker Status for solo');
    } finally {
      b.reset(0);
    }
  });

  it('renders the three edit forms', async () => {
    const lbForm = (await h.get('cmd=edit&w=lb')).body;
    expect(lbForm).toContain('<input type="hidden" name="cmd" value="update"/>');
    expect(lbForm).toContain('name="vls"');
    expect(lbForm).toContain('name="vlm"');
    const memberForm = (await h.get('cmd=edit&w=lb&sw=n2')).body;
    expect(memberForm).toContain('<input type="hidden" name="sw" value="n2"/>');
    expect(memberForm).toContain('name="vwn" type="text" value="node2.blue"');
    expect(memberForm).toContain('name="vahst"');
    const allForm = (await h.get('cmd=edit&w=lb&att=vwf')).body;
    expect(allForm).toContain('<input type="hidden" name="att" value="vwf"/>');
    expect(allForm).toContain('name="val0" type="text" value="1"');
    expect(allForm).toContain('name="val1" type="text" value="2"');
  });

  it('shows the result page with a redirect after an update', async () => {
    const r = await h.get('cmd=update&w=lb&vlx=0&from=list');
    expect(r.body).toContain('<meta http-equiv="Refresh" content="3;url=/jkstatus?cmd=list"/>');
    expect(r.body).toContain('Result: OK - You will be redirected in 3 seconds.');
  });

  it('marks values that differ from the workers file', async () => {
    const b = h.balancers.get('lb')!;
    b.setRoute(0, 'moved');
    try {
      const r = await h.get('cmd=show&w=lb');
      expect(r.body).toContain('<td class="changed" title="workers file: n1">moved*</td>');
    } finally {
      b.setRoute(0, 'n1');
    }
  });
});

describe('html forms submit cleanly', () => {
  /** The query a browser would send for the first form on the page that targets cmd=update. */
  function submit(page: string, change: Record<string, string>): string {
    const form = page.slice(page.indexOf('<input type="hidden" name="cmd" value="update"/>'));
    const body = form.slice(0, form.indexOf('</form>'));
    const fields = new Map<string, string>();
    for (const m of body.matchAll(/<input (?:id="[^"]*" )?(?:type="hidden" )?name="([^"]+)"(?: type="text")? value="([^"]*)"/g)) fields.set(m[1], m[2]);
    for (const m of body.matchAll(/<select id="[^"]*" name="([^"]+)">(.*?)<\/select>/g)) {
      fields.set(m[1], /<option value="([^"]*)" selected="selected">/.exec(m[2])![1]);
    }
    for (const [k, v] of Object.entries(change)) fields.set(k, v);
    return [...fields].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  }

  it('the member form changes only what was edited', async () => {
    const b = h.balancers.get('lb')!;
    const query = submit((await h.get('cmd=edit&w=lb&sw=n2')).body, { vwd: '3' });
    expect(query).toContain('vwa=ACT');
    expect(parseProps((await h.get(`${query}&mime=prop`)).body).get('worker.result.type')).toBe('OK');
    expect(b.members[1].distance).toBe(3);
    expect(parseProps((await h.get('mime=prop')).body).get('worker.n2.overrides')).toBe('distance');
    b.setMember(1, 'distance', 0);
  });

  it('the balancer form can switch stickiness off', async () => {
    const b = h.balancers.get('lb')!;
    const query = submit((await h.get('cmd=edit&w=lb')).body, { vls: '0' });
    expect(parseProps((await h.get(`${query}&mime=prop`)).body).get('worker.result.type')).toBe('OK');
    expect(b.lb.stickySession).toBe(false);
    b.setLb('sticky_session', true);
  });

  it('the all-members form sets each member', async () => {
    const b = h.balancers.get('lb')!;
    const query = submit((await h.get('cmd=edit&w=lb&att=vwd')).body, { val0: '4', val2: '6' });
    expect(parseProps((await h.get(`${query}&mime=prop`)).body).get('worker.result.type')).toBe('OK');
    expect(b.members.map((m) => m.distance)).toEqual([4, 0, 6]);
    b.setMember(0, 'distance', 0);
    b.setMember(2, 'distance', 1);
  });
});
