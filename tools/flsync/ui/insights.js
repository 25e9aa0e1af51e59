// insights.js — the Insights page of `flsync ui`: the figures of `flsync
// report`, from the same insight_* views (GET /api/insight), in the home
// currency, redrawn whenever the database changes (app.js calls refresh()
// on every change event).  It registers itself in FL_VIEWS, which app.js's
// router consults; el(), get(), toast() and main are app.js's.  Charts are
// SVG built node by node; every figure table cell says which view, row and
// column it shows (data-view, data-key, data-col), as in the report.
'use strict';

window.FL_VIEWS = window.FL_VIEWS || {};

const insights = (() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const FILLS = ['fill-0', 'fill-1', 'fill-2', 'fill-3'];
  let currency = '';

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v)), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  // How a cell shows: 'm' money (USD to home), 'p' share as %, 'n' count, 'h' hours, else text.
  function show(v, kind, rate) {
    if (v === null || v === undefined) return '';
    switch (kind) {
      case 'm': return (v / rate).toFixed(2);
      case 'p': return (100 * v).toFixed(1);
      case 'n': return String(Math.round(v));
      case 'h': return (v / 3600).toFixed(1);
      default: return String(v);
    }
  }

  function figureTable(view, key, rows, cols, rate) {
    return el('table', { class: 'figures', 'data-view': view },
      el('tr', {}, cols.map(([, head, kind]) => el('th', { class: kind === 't' ? 't' : '' }, head))),
      rows.map((r) => el('tr', { 'data-key': r[key] },
        cols.map(([col, , kind]) => el('td', { 'data-col': col, class: kind === 't' ? 't' : '' }, show(r[col], kind, rate))))));
  }

  // Grouped bars per row (x: the row's label), series [name, column, scale].
  function bars(rows, label, series, unit) {
    if (!rows.length) return el('p', { class: 'muted' }, 'No data yet.');
    const W = 900, H = 240, ML = 56, MT = 28, MB = 44, pw = W - ML - 10, ph = H - MT - MB;
    let top = 0;
    for (const r of rows) for (const [, c, k] of series) top = Math.max(top, (r[c] || 0) * k);
    top = niceMax(top);
    const g = pw / rows.length, bw = Math.min(36, g * 0.8 / series.length);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
    for (let i = 0; i <= 4; i++) {
      const y = MT + ph - ph * i / 4;
      s.append(svg('line', { x1: ML, x2: ML + pw, y1: y, y2: y, class: 'grid' }),
        svg('text', { x: ML - 6, y: y + 4, class: 'ax', 'text-anchor': 'end' }, +(top * i / 4).toPrecision(3)));
    }
    s.append(svg('text', { x: 10, y: MT - 10, class: 'ax' }, unit));
    rows.forEach((r, i) => {
      series.forEach(([name, c, k], j) => {
        const v = Math.max(0, (r[c] || 0) * k), h = ph * Math.min(v, top) / top;
        s.append(svg('rect', { x: ML + g * i + (g - bw * series.length) / 2 + bw * j, y: MT + ph - h,
          width: Math.max(1, bw - 1), height: h, class: 'bar ' + FILLS[j % FILLS.length] },
        svg('title', {}, `${r[label]} ${name}: ${v.toFixed(2)}`)));
      });
      if (rows.length <= 24 || i % Math.ceil(rows.length / 24) === 0) {
        const x = ML + g * (i + 0.5);
        s.append(svg('text', { x, y: MT + ph + 14, class: 'ax', 'text-anchor': 'end',
          transform: `rotate(-40 ${x} ${MT + ph + 14})` }, r[label]));
      }
    });
    series.forEach(([name], j) => s.append(
      svg('rect', { x: ML + 150 * j, y: 4, width: 12, height: 12, class: 'bar ' + FILLS[j % FILLS.length] }),
      svg('text', { x: ML + 150 * j + 16, y: 14, class: 'lg' }, name)));
    return s;
  }

  // Win rate per bucket: the point and its Wilson interval, on 0..100%.
  function intervals(rows) {
    if (!rows.length) return el('p', { class: 'muted' }, 'No bids yet.');
    const W = 900, LW = 150, RW = 200, RH = 20, T = 22, pw = W - LW - RW, H = T + RH * rows.length + 6;
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
    for (let i = 0; i <= 4; i++) {
      const x = LW + pw * i / 4;
      s.append(svg('line', { x1: x, x2: x, y1: T - 4, y2: H - 4, class: 'grid' }),
        svg('text', { x, y: 14, class: 'ax', 'text-anchor': 'middle' }, 25 * i + '%'));
    }
    rows.forEach((r, i) => {
      const y = T + RH * i + RH / 2;
      s.append(svg('text', { x: LW - 8, y: y + 4, class: 'lg', 'text-anchor': 'end' }, r.bucket));
      if (r.win_rate !== null) {
        const lo = LW + pw * r.ci_low, hi = LW + pw * r.ci_high, x = LW + pw * r.win_rate;
        s.append(svg('path', { d: `M${lo} ${y}H${hi}M${lo} ${y - 5}V${y + 5}M${hi} ${y - 5}V${y + 5}`, class: 'ci' }),
          svg('path', { d: `M${x} ${y - 5}l5 5l-5 5l-5 -5z`, class: 'pt' }));
      }
      s.append(svg('text', { x: LW + pw + 10, y: y + 4, class: 'ax' },
        `${r.win_rate === null ? 'none decided: ' : ''}won ${r.won} of ${r.decided} decided (${r.bids} bids)`));
    });
    return s;
  }

  function duration(s) {
    return s < 3600 ? (s / 60).toFixed(0) + ' min' : s < 172800 ? (s / 3600).toFixed(1) + ' h' : (s / 86400).toFixed(1) + ' d';
  }

  function tiles(d) {
    const s = d.summary[0] || {}, tile = (key, label, value) => el('div', { class: 'tile', 'data-fig': key }, el('b', {}, value), label);
    return el('div', { class: 'tiles' },
      tile('bids', 'bids placed', String(s.bids || 0)),
      tile('win_rate', 'win rate (won of decided)', s.decided ? (100 * s.won / s.decided).toFixed(1) + '%' : '-'),
      tile('earned', 'earned (cleared milestones)', `${((s.earned_usd || 0) / d.rate).toFixed(2)} ${d.currency}`),
      tile('in_escrow', 'in escrow (pending or requested)', `${((s.in_escrow_usd || 0) / d.rate).toFixed(2)} ${d.currency}`),
      s.replies ? tile('median_reply', `median reply time, ${s.replies} replies`, duration(s.median_reply_s)) : null,
      s.replies ? tile('p90_reply', '90% of replies within', duration(s.p90_reply_s)) : null);
  }

  function winSection(d) {
    const dims = [['job', 'By job (the 15 with the most bids)'], ['budget', 'By budget maximum (USD)'],
      ['price', 'By price: bid over the average bid'], ['speed', 'By speed: posting to bid']];
    const cols = [['bucket', 'bucket', 't'], ['bids', 'bids', 'n'], ['decided', 'decided', 'n'], ['won', 'won', 'n'],
      ['win_rate', 'win rate %', 'p'], ['ci_low', '95% low %', 'p'], ['ci_high', '95% high %', 'p']];
    return dims.map(([dim, title]) => {
      let rows = d.win_rate.filter((r) => r.dimension === dim);
      if (dim === 'job') rows = rows.slice().sort((a, b) => b.bids - a.bids).slice(0, 15);
      return el('section', { 'data-dimension': dim }, el('h3', {}, title), intervals(rows),
        el('details', {}, el('summary', {}, 'Figures'), figureTable('insight_win_rate', 'bucket', rows, cols, d.rate)));
    });
  }

  function render(d) {
    const k = 1 / d.rate, days = d.response.some((r) => r.p90_reply_s > 3 * 86400), rk = days ? 1 / 86400 : 1 / 3600;
    const picker = el('input', { id: 'insight-currency', value: d.currency, size: 4, maxlength: 8, 'aria-label': 'Home currency' });
    const form = el('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); currency = picker.value.trim(); refresh(); } },
      'Money in ', picker, el('button', { type: 'submit', class: 'secondary' }, 'Show'));
    main.replaceChildren(el('h1', {}, 'Insights'), form,
      el('p', { class: 'muted' }, `From the insight_* views; months are UTC; 1 ${d.currency} = ${d.rate} USD.`),
      tiles(d),
      el('h2', {}, `Cash flow per month (${d.currency})`),
      bars(d.cashflow, 'month', [['earned', 'earned_usd', k], ['in escrow', 'in_escrow_usd', k], ['paid out', 'paid_out_usd', k],
        ['requested', 'requested_usd', k]], d.currency),
      figureTable('insight_cashflow_monthly', 'month', d.cashflow, [['month', 'month', 't'], ['earned_usd', 'earned', 'm'],
        ['in_escrow_usd', 'in escrow', 'm'], ['paid_out_usd', 'paid out', 'm'], ['requested_usd', 'requested', 'm'],
        ['unconverted', 'unconverted', 'n']], d.rate),
      el('h2', {}, 'Reply time per month'),
      bars(d.response, 'month', [['median', 'median_reply_s', rk], ['p90', 'p90_reply_s', rk]], days ? 'days' : 'hours'),
      figureTable('insight_response_monthly', 'month', d.response, [['month', 'month', 't'], ['replies', 'replies', 'n'],
        ['median_reply_s', 'median (h)', 'h'], ['p90_reply_s', 'p90 (h)', 'h']], d.rate),
      el('h2', {}, 'Win rate (95% Wilson intervals)'), ...winSection(d),
      el('h2', {}, `Top clients (${d.currency})`),
      d.clients.length ? figureTable('insight_clients', 'client_id', d.clients, [['username', 'client', 't'],
        ['country', 'country', 't'], ['projects', 'projects', 'n'], ['bids', 'bids', 'n'], ['won', 'won', 'n'],
        ['earned_usd', 'earned', 'm'], ['reviews', 'reviews', 'n'], ['avg_rating', 'rating', 't']], d.rate)
        : el('p', { class: 'muted' }, 'No bids yet.'));
    main.dataset.insightCurrency = d.currency;
  }

  function view() {
    main.replaceChildren(el('h1', {}, 'Insights'), el('p', { class: 'muted' }, 'Loading…'));
    return {
      refresh: async () => {
        try {
          render(await get('insight', currency ? { currency } : undefined));
        } catch (e) {
          toast(e.message, true);
          currency = '';
        }
      },
    };
  }
  return { view };
})();

window.FL_VIEWS.insights = insights.view;
