// The HTML report of panops-crypto-verify: inlined into the page by HtmlReport.
// Draws the page from the JSON report, the content of the element #report-data.
// Every value from the report reaches the page as a text node, an attribute value or an ECharts
// option (drawn as SVG text): never as markup. The trail is hostile input.
'use strict';
(() => {
  const DASH = '\u2014';
  const MAX_ROWS = 1000;
  const RED = '#d0021b';
  const GREEN = '#1a9c3a';
  const OK = '#2f6fd8';
  const REFUSED = '#f08c2e';

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value != null) e.setAttribute(name, String(value));
    }
    for (const c of children.flat(Infinity)) {
      if (c != null) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  const text = (v) => (v == null ? DASH : String(v));
  const time = (v) => (v == null ? DASH : String(v).replace('T', ' '));
  const num = (v) => (v == null ? DASH : Number(v).toLocaleString('en-US'));
  function secs(v) {
    if (v == null) return DASH;
    return `${Number(v).toFixed(3).replace(/\.?0+$/, '')} s`;
  }
  const ms = (iso) => Date.parse(iso);
  const list = (v) => (Array.isArray(v) ? v : []);

  function figures(items) {
    return h('dl', { class: 'figures' }, items.map(([label, value, bad]) =>
      h('div', { class: bad ? 'bad' : null }, h('dt', {}, label), h('dd', {}, value))));
  }

  function table(cls, columns, rows) {
    const shown = rows.slice(0, MAX_ROWS);
    // a column is [label, cell of a row, kind]: kind 'num' (right-aligned) or 'id' (may break anywhere)
    const head = h('tr', {}, columns.map(([label, , kind]) => h('th', { class: kind }, label)));
    const body = shown.map((row) => h('tr', {}, columns.map(([, cell, kind]) =>
      h('td', { class: kind }, cell(row)))));
    const more = rows.length > shown.length
      ? h('p', { class: 'note' }, `\u2026 and ${num(rows.length - shown.length)} more rows: see the JSON report.`)
      : null;
    return [h('table', { class: cls }, h('thead', {}, head), h('tbody', {}, body)), more];
  }

  function header(report) {
    const verdict = text(report.verdict);
    const known = ['PASS', 'VIOLATION', 'NO_CUTS'].includes(verdict) ? verdict : 'other';
    document.title = `KMS kill switch report: ${verdict}`;
    const s = report.settings || {};
    return h('header', { class: 'head' },
      h('div', { class: 'title' },
        h('h1', {}, 'KMS kill switch: time to dark'),
        h('p', { class: 'meta' }, `Generated ${time(report.generatedAt)} \u00b7 ${text(report.schema)}`),
        h('p', { class: 'meta' }, `Vendor principals: ${list(s.vendorPrincipals).join(', ') || DASH}`
          + ` \u00b7 propagation window ${secs(s.propagationWindowSeconds)}`
          + ` \u00b7 probe user agent ${text(s.probeUserAgent)}`)),
      h('div', { class: `verdict verdict-${known}`, id: 'verdict', 'data-verdict': verdict }, verdict));
  }

  function distribution(label, d) {
    return h('tr', {}, h('th', {}, label),
      ['p50', 'p99', 'max'].map((q) => h('td', { class: 'num' }, d == null ? DASH : secs(d[q]))));
  }

  function summary(report) {
    const s = report.summary || {};
    return h('section', { class: 'summary', id: 'summary' },
      h('h2', {}, 'Summary'),
      figures([['keys', num(s.keys)], ['cuts', num(s.cuts)],
        ['violations', num(s.violations), Number(s.violations) > 0]]),
      h('table', { class: 'distribution' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), ['p50', 'p99', 'max'].map((q) => h('th', { class: 'num' }, q)))),
        h('tbody', {}, distribution('time to dark', s.timeToDarkSeconds),
          distribution('time to first refusal', s.timeToFirstRefusalSeconds))));
  }

  function input(report) {
    const i = report.input || {};
    const unreadable = list(i.unreadable);
    return h('section', { class: 'input', id: 'input' },
      h('h2', {}, 'Input'),
      figures([['files', num(i.files)], ['records', num(i.records)], ['KMS records', num(i.kmsRecords)],
        ['duplicates', num(i.duplicates)], ['other services', num(i.otherServices)],
        ['unreadable', num(unreadable.length), unreadable.length > 0],
        ['first event', time(i.firstEvent)], ['last event', time(i.lastEvent)]]),
      unreadable.length === 0 ? null : table('unreadable',
        [['unreadable source', (u) => text(u.source), 'id'], ['problem', (u) => text(u.problem)]], unreadable));
  }

  function violations(p) {
    const vs = list(p.violations);
    if (vs.length === 0) return null;
    const shown = vs.slice(0, MAX_ROWS);
    return h('div', { class: 'violations alarm', 'data-violations': vs.length },
      h('h4', {}, `${num(vs.length)} violation${vs.length === 1 ? '' : 's'}: successful calls after a cut`),
      h('ul', {}, shown.map((v) => h('li', { class: 'violation', 'data-request-id': v.requestId },
        `${time(v.at)} ${text(v.eventName)}, ${secs(v.secondsAfterCut)} after the cut at ${time(v.cutAt)}`
        + ` \u00b7 request ${text(v.requestId)} \u00b7 event ${text(v.eventId)}`))),
      vs.length > shown.length ? h('p', { class: 'note' }, `\u2026 and ${num(vs.length - shown.length)} more.`) : null);
  }

  function principal(p) {
    const calls = p.calls || {};
    const probes = p.probes;
    return h('div', { class: 'principal', 'data-principal': p.principal },
      h('h3', {}, text(p.principal)),
      h('p', { class: 'meta' }, `calls: ${num(calls.success)} successful, ${num(calls.refused)} refused \u00b7 `
        + (probes == null ? 'no probe seen'
          : `probes: ${num(probes.decrypts)} Decrypts, interval median ${secs(probes.medianIntervalSeconds)},`
            + ` max ${secs(probes.maxIntervalSeconds)}`)),
      violations(p),
      list(p.cuts).length === 0 ? h('p', { class: 'note' }, 'No cut while this principal was calling.')
        : table('cuts', [
          ['cut at', (c) => time(c.at)], ['by', (c) => text(c.by)],
          ['last success after', (c) => time(c.lastSuccessAfter)],
          ['time to dark', (c) => secs(c.timeToDarkSeconds), 'num'],
          ['first refused', (c) => time(c.firstRefused)],
          ['code', (c) => text(c.firstRefusedErrorCode)],
          ['time to first refusal', (c) => secs(c.timeToFirstRefusalSeconds), 'num'],
          ['restored at', (c) => (c.restoredAt == null ? DASH : `${time(c.restoredAt)} (${text(c.restoredBy)})`)],
          ['first success after restore', (c) => time(c.firstSuccessAfterRestore)]], list(p.cuts)));
  }

  function changes(key) {
    const cs = list(key.changes);
    if (cs.length === 0) return h('p', { class: 'note' }, 'No change to this key in the trail.');
    return [h('h3', {}, 'Changes to the key'), table('changes', [
      ['at', (c) => time(c.at)], ['event', (c) => text(c.eventName)], ['by', (c) => text(c.by), 'id'],
      ['error code', (c) => text(c.errorCode)], ['effect', (c) => text(c.effect)]], cs)];
  }

  function keySection(key, charts) {
    const cuts = list(key.changes).filter((c) => c.effect === 'cut').length;
    const violationCount = list(key.principals).reduce((n, p) => n + list(p.violations).length, 0);
    const chart = h('div', { class: 'timeline', id: `timeline-${charts.length}`,
      'data-cuts': cuts, 'data-violations': violationCount });
    charts.push({ key, el: chart });
    return h('section', { class: 'key', 'data-key-arn': key.keyArn },
      h('h2', {}, text(key.keyArn)), chart, list(key.principals).map(principal), changes(key));
  }

  function reconciliation(r) {
    if (r == null) return null;
    const auditOnly = list(r.auditOnly);
    const trailOnly = list(r.trailOnly);
    return h('section', { class: 'reconciliation', id: 'reconciliation' },
      h('h2', {}, 'Reconciliation with the vendor\u2019s audit'),
      figures([['audit events', num(r.auditEvents)], ['matched', num(r.matched)],
        ['mismatched', num(r.mismatched), Number(r.mismatched) > 0],
        ['only in the audit', num(auditOnly.length)], ['only in the trail', num(trailOnly.length)],
        ['reconciled', r.reconciled ? 'yes' : 'no', !r.reconciled]]),
      auditOnly.length === 0 ? null : [h('h3', {}, 'Only in the audit'), table('audit-only', [
        ['request id', (a) => text(a.requestId), 'id'], ['call id', (a) => text(a.callId), 'id'],
        ['operation', (a) => text(a.operation)], ['key', (a) => text(a.keyArn), 'id'],
        ['reason', (a) => text(a.reason)]], auditOnly)],
      trailOnly.length === 0 ? null : [h('h3', {}, 'Only in the trail'), table('trail-only', [
        ['request id', (t) => text(t.requestId), 'id'], ['event', (t) => text(t.eventName)],
        ['key', (t) => text(t.keyArn), 'id'], ['at', (t) => time(t.at)],
        ['reason', (t) => text(t.reason)]], trailOnly)]);
  }

  // ---- the timeline of one key ----

  function buckets(key) {
    const byStart = new Map();
    for (const p of list(key.principals)) {
      for (const a of list(p.activity)) {
        const start = ms(a.from);
        if (Number.isNaN(start)) continue;
        const b = byStart.get(start) || { start, end: start, success: 0, refused: 0 };
        b.end = Math.max(b.end, start + Number(a.seconds || 0) * 1000);
        b.success += Number(a.success || 0);
        b.refused += Number(a.refused || 0);
        byStart.set(start, b);
      }
    }
    return [...byStart.values()].sort((x, y) => x.start - y.start);
  }

  function extent(report, key, bs, vs) {
    const ts = [...bs.flatMap((b) => [b.start, b.end]),
      ...list(key.changes).map((c) => ms(c.at)), ...vs.map((v) => ms(v.at))].filter((t) => !Number.isNaN(t));
    if (ts.length === 0) {
      const i = report.input || {};
      ts.push(...[ms(i.firstEvent), ms(i.lastEvent)].filter((t) => !Number.isNaN(t)));
    }
    if (ts.length === 0) ts.push(Date.now());
    // a loop, not Math.min(...ts): a spread of many values overflows the call stack
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of ts) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    const pad = Math.max((hi - lo) * 0.03, 1000);
    return [lo - pad, hi + pad];
  }

  function darkPeriods(key, end) {
    const areas = [];
    let darkSince = null;
    const cs = list(key.changes).filter((c) => !Number.isNaN(ms(c.at))).sort((x, y) => ms(x.at) - ms(y.at));
    for (const c of cs) {
      if (c.effect === 'cut' && darkSince == null) darkSince = ms(c.at);
      if (c.effect === 'restore' && darkSince != null) {
        areas.push([{ xAxis: darkSince, name: 'dark' }, { xAxis: ms(c.at) }]);
        darkSince = null;
      }
    }
    if (darkSince != null) areas.push([{ xAxis: darkSince, name: 'dark' }, { xAxis: end }]);
    return areas;
  }

  function changeSeries(key, effect, color) {
    const cs = list(key.changes).filter((c) => c.effect === effect && !Number.isNaN(ms(c.at)));
    return {
      name: effect === 'cut' ? 'cuts' : 'restores', type: 'line', data: [], color,
      markLine: {
        symbol: 'none', silent: false, animation: false,
        lineStyle: { color, width: 2, type: 'solid' },
        label: { show: true, position: 'end', formatter: '{b}', color },
        data: cs.map((c) => ({ name: `${effect}: ${text(c.eventName)}`, xAxis: ms(c.at) })),
      },
    };
  }

  function tooltip(p) {
    if (p.componentType === 'markLine') return `${p.name} at ${new Date(p.value).toISOString()}`;
    if (p.componentType === 'markArea') return 'dark: the key was cut';
    if (p.seriesName === 'violations') return p.name;
    const v = p.value || [];
    return `${p.seriesName}: ${v[1]} in the bucket at ${new Date(v[2]).toISOString()}`;
  }

  function timelineOption(report, key) {
    const bs = buckets(key);
    const vs = list(key.principals).flatMap((p) => list(p.violations));
    const [lo, hi] = extent(report, key, bs, vs);
    const mid = (b) => (b.start + b.end) / 2;
    return {
      animation: false, useUTC: true,
      legend: { top: 0 },
      tooltip: { trigger: 'item', renderMode: 'richText', formatter: tooltip },
      grid: { left: 64, right: 40, top: 56, bottom: 70 },
      xAxis: { type: 'time', min: lo, max: hi, name: 'UTC', nameGap: 8 },
      yAxis: [{ type: 'value', name: 'vendor calls per bucket', minInterval: 1 },
        { type: 'value', min: 0, max: 1, show: false }],
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      series: [
        { name: 'successful calls', type: 'bar', stack: 'calls', color: OK, barMaxWidth: 14,
          data: bs.map((b) => [mid(b), b.success, b.start]),
          markArea: { silent: true, itemStyle: { color: 'rgba(208, 2, 27, 0.08)' },
            label: { show: true, position: 'insideTop', color: '#a0001a', formatter: 'dark' },
            data: darkPeriods(key, hi) } },
        { name: 'refused calls', type: 'bar', stack: 'calls', color: REFUSED, barMaxWidth: 14,
          data: bs.map((b) => [mid(b), b.refused, b.start]) },
        changeSeries(key, 'cut', RED),
        changeSeries(key, 'restore', GREEN),
        { name: 'violations', type: 'scatter', yAxisIndex: 1, color: '#8b0000', symbol: 'triangle',
          symbolSize: 16, z: 10,
          label: { show: true, position: 'top', formatter: 'violation', color: '#8b0000', fontWeight: 'bold' },
          data: vs.filter((v) => !Number.isNaN(ms(v.at))).map((v) => ({ value: [ms(v.at), 0.9],
            name: `violation: ${text(v.eventName)} ${secs(v.secondsAfterCut)} after the cut, request ${text(v.requestId)}` })) },
      ],
    };
  }

  function drawCharts(report, charts, done) {
    let pending = charts.length;
    if (pending === 0) done();
    for (const { key, el } of charts) {
      const chart = echarts.init(el, null, { renderer: 'svg' });
      let counted = false;
      chart.on('finished', () => {
        if (counted) return;
        counted = true;
        el.dataset.rendered = 'true';
        if (--pending === 0) done();
      });
      chart.setOption(timelineOption(report, key));
      window.addEventListener('resize', () => chart.resize());
    }
  }

  function render() {
    const report = JSON.parse(document.getElementById('report-data').textContent);
    const root = document.getElementById('report');
    const charts = [];
    root.replaceChildren(header(report), summary(report), input(report),
      h('div', { class: 'keys' }, list(report.keys).map((k) => keySection(k, charts))),
      reconciliation(report.reconciliation) || '');
    document.body.dataset.charts = String(charts.length);
    drawCharts(report, charts, () => { document.body.dataset.rendered = 'true'; });
  }

  try {
    render();
  } catch (e) {
    document.body.dataset.renderError = String(e);
    document.getElementById('report').prepend(
      h('p', { class: 'alarm render-error' }, `The report could not be drawn: ${e}`));
  }
})();
