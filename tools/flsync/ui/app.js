// app.js — the page of `flsync ui`.  Every piece of text from the database
// reaches the page as a text node (el() below, textContent), never as HTML,
// so a message such as <img src=x onerror=alert(1)> shows as those
// characters.  Every request carries this run's token: in the X-Flsync-Token
// header, which another site cannot send, or (the page's own files and the
// event stream, which cannot send headers) in the URL.  Never in a cookie:
// browsers would send it to every other server on this host.
'use strict';

const TOKEN = document.querySelector('meta[name="flsync-token"]').content;
const MARK_ON = '\uE000', MARK_OFF = '\uE001';
const main = document.getElementById('main');
let view = null;        // the view on screen: {refresh()}
let self = null;        // the account (users row with is_self)


// ---- building the page ---------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function when(t) {
  if (!t) return '';
  const d = new Date(t * 1000);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function money(amount, currency) {
  if (amount === null || amount === undefined) return '';
  return (currency ? currency + ' ' : '') + Number(amount).toLocaleString(undefined, { maximumFractionDigits: 2 });
}

// A snippet with its matches between the private-use marks, as text and <mark>.
function marked(s) {
  const out = [];
  let rest = s || '';
  while (rest) {
    const a = rest.indexOf(MARK_ON);
    if (a < 0) { out.push(rest); break; }
    const b = rest.indexOf(MARK_OFF, a);
    out.push(rest.slice(0, a));
    out.push(el('mark', {}, rest.slice(a + 1, b < 0 ? undefined : b)));
    rest = b < 0 ? '' : rest.slice(b + 1);
  }
  return out;
}

function state(name, title) {
  return name ? el('span', { class: 'state ' + name.split(/[: ]/)[0], title }, name) : null;
}

function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = bad ? 'bad' : '';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 3000);
}

// ---- talking to the server -------------------------------------------------

async function get(path, params) {
  const q = params ? '?' + new URLSearchParams(params) : '';
  const r = await fetch('/api/' + path + q, { credentials: 'omit', headers: { 'X-Flsync-Token': TOKEN } });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function post(path, fields) {
  const r = await fetch('/api/' + path, {
    method: 'POST', credentials: 'omit',
    headers: { 'X-Flsync-Token': TOKEN, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function enqueue(kind, params) {
  return post('enqueue', { kind, params: JSON.stringify(params) });
}

// What became of a queued action within a few seconds: flsyncd (or this app
// with --api) sends it at once.  [text, bad] for a toast.
async function outcome(id, what) {
  let a = null;
  for (let i = 0; i < 25; i++) {
    a = await get('action', { id });
    if (a.state === 'done') return [what + ' sent', false];
    if (a.state === 'failed') return [what + ' failed: ' + (a.error_message || a.error_code || 'the API refused it'), true];
    if (a.state === 'cancelled') return [what + ' cancelled', true];
    await new Promise((r) => setTimeout(r, 200));
  }
  return [what + ' still queued: ' + (a && a.why ? a.why : 'not sent yet'), false];
}

// A button that runs fn, shows failures, and refreshes the view after.
function action(label, fn, cls) {
  return el('button', {
    class: cls, type: 'button',
    onclick: async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      try {
        const msg = await fn();
        if (msg) toast(msg);
      } catch (e) {
        toast(e.message, true);
      } finally {
        b.disabled = false;
        refresh();
      }
    },
  }, label);
}

// ---- the views ------------------------------------------------------------------

// A list that pages: load(offset) gives rows, item(row) an element.
function pagedList(key, path, item, empty, params) {
  const ul = el('ul', { class: 'list' });
  const more = el('button', { class: 'secondary more', type: 'button', hidden: true }, 'Load more');
  let shown = 100;
  async function fill() {
    const data = await get(path, { ...params, limit: shown });
    const rows = data[key];
    ul.replaceChildren(...(rows.length ? rows.map(item) : [el('li', { class: 'muted' }, empty)]));
    more.hidden = rows.length < shown;
  }
  more.addEventListener('click', () => { shown += 100; fill().catch((e) => toast(e.message, true)); });
  return { nodes: [ul, more], refresh: fill };
}

// The inbox, or (folder 'archived') the archived threads, which the inbox leaves out.
function inboxView(folder) {
  const archived = folder === 'archived';
  const list = pagedList('threads', 'threads', (t) => el('li', {
    class: 'thread' + (t.unread > 0 ? ' unread' : ''), 'data-id': t.id,
    onclick: () => { location.hash = '#/thread/' + t.id; },
  },
  el('a', { class: 'title', href: '#/thread/' + t.id }, t.title),
  el('span', { class: 'muted' }, when(t.time_updated), ' ',
     t.unread > 0 ? el('span', { class: 'badge unread-count' }, t.unread) : null),
  // The newest message's own sender ("You" for the account), not the thread's other member.
  el('span', { class: 'last' }, t.last_message ? (t.last_mine ? 'You' : t.last_sender) + ': ' : '',
     t.last_message || '', t.members ? el('span', { class: 'muted' }, ' · with ' + t.members) : null),
  el('span', {}, t.is_muted ? state('muted') : null, t.folder === 'archived' ? state('archived') : null)),
  archived ? 'No archived threads.' : 'No message threads yet.', { folder: archived ? 'archived' : 'inbox' });
  const filters = el('p', { class: 'filters' },
    el('a', { href: '#/inbox', class: archived ? null : 'active' }, 'Inbox'),
    el('a', { href: '#/inbox/archived', class: archived ? 'active' : null }, 'Archived'));
  main.replaceChildren(el('h1', {}, archived ? 'Archived threads' : 'Inbox'), filters, ...list.nodes);
  return list;
}

function messageState(m) {
  if (m.local_state === 'pending') return state(m.action_state === 'sending' ? 'sending' : 'pending');
  if (m.local_state === 'failed') return state('failed', m.error_message || '');
  return m.mine ? state('sent') : null;
}

function threadView(id) {
  const title = el('h1', {}, 'Thread ' + id);
  const box = el('div', { class: 'messages', id: 'messages' });
  const text = el('textarea', { id: 'reply', placeholder: 'Write a reply…', maxlength: 20000 });
  const send = el('button', { id: 'send', type: 'submit' }, 'Send');
  const context = el('p', { class: 'context' });
  let readFor = null;   // the thread's time_updated it was last marked read for
  const form = el('form', {
    class: 'reply',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const message = text.value.trim();
      if (!message) return;
      send.disabled = true;
      try {
        const q = await enqueue('message.send', { thread_id: id, message });
        text.value = '';
        refresh();
        const [said, bad] = await outcome(q.id, 'Reply');
        toast(said, bad);
      } catch (e) {
        toast(e.message, true);
      } finally {
        send.disabled = false;
        refresh();
      }
    },
  }, text, el('div', { class: 'inline' }, send));
  main.replaceChildren(el('p', {}, el('a', { href: '#/inbox' }, '← Inbox')), title, context, box, form);
  return {
    async refresh() {
      const data = await get('thread', { id });
      const t = data.thread[0];
      title.replaceChildren(t.title, t.members ? el('span', { class: 'muted' }, ' — ' + t.members) : null);
      context.replaceChildren(...(t.context_type === 'project' && t.context_id !== null
        ? ['About the project ', el('a', { class: 'project-link', href: '#/project/' + t.context_id },
          t.title === 'Thread ' + t.id ? 'Project ' + t.context_id : t.title)] : []));
      // Opening a thread reads it: thread.read is queued (the row reads as read at
      // once), once for each state of the thread, so that a refused one is not
      // queued again and again.
      if (!t.is_read && readFor !== t.time_updated) {
        readFor = t.time_updated;
        enqueue('thread.read', { thread_id: id }).then(() => refresh(), (e) => toast('Marking read: ' + e.message, true));
      }
      const atBottom = box.lastChild === null || window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      box.replaceChildren(...(data.messages.length ? data.messages.map((m) => el('div', {
        class: 'message' + (m.mine ? ' mine' : ''), 'data-id': m.id,
      },
      el('div', { class: 'meta' }, el('span', { class: 'sender' }, m.sender), el('span', {}, when(m.time_created)),
         messageState(m)),
      el('div', { class: 'text' }, m.message || ''),
      m.local_state === 'failed' ? el('div', { class: 'error' }, m.error_message || 'the API refused it') : null))
        : [el('p', { class: 'muted' }, 'No messages yet.')]));
      if (atBottom) box.lastChild.scrollIntoView({ block: 'end' });
    },
  };
}

function projectRow(p) {
  return el('tr', { 'data-id': p.id },
    el('td', {}, el('a', { href: '#/project/' + p.id }, p.title || ('Project ' + p.id)),
       p.local_state ? [' ', state(p.local_state)] : null),
    el('td', {}, p.status || ''),
    el('td', { class: 'num' }, money(p.budget_minimum, p.currency), '–', money(p.budget_maximum)),
    el('td', { class: 'num' }, p.bids),
    el('td', { class: 'when' }, when(p.time_submitted)),
    el('td', {}, p.my_bid ? state('bid placed') : ''));
}

// Each cell of a row gets its column's name, which narrow screens show
// beside the value (a row becomes a card there; see app.css).
function labelled(tr, columns) {
  [...tr.children].forEach((td, i) => { if (columns[i]) td.dataset.label = columns[i]; });
  return tr;
}

function table(columns, body) {
  return el('table', {}, el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c)))), body);
}

// A paged table; opts.before: nodes between the heading and the table,
// opts.refresh: also run on each refresh.
function tableView(heading, key, path, columns, row, empty, opts) {
  const body = el('tbody');
  const more = el('button', { class: 'secondary more', type: 'button', hidden: true }, 'Load more');
  let shown = 100;
  main.replaceChildren(el('h1', {}, heading), ...((opts && opts.before) || []), table(columns, body), more);
  async function fill() {
    const [data] = await Promise.all([get(path, { limit: shown }), opts && opts.refresh ? opts.refresh() : null]);
    const rows = data[key];
    body.replaceChildren(...(rows.length ? rows.map((r) => labelled(row(r), columns))
      : [el('tr', {}, el('td', { colspan: columns.length, class: 'muted' }, empty))]));
    more.hidden = rows.length < shown;
  }
  more.addEventListener('click', () => { shown += 100; fill().catch((e) => toast(e.message, true)); });
  return { refresh: fill };
}

function projectView(id) {
  const head = el('div');
  const bids = el('tbody');
  const bidForm = el('div');
  const columns = ['Bidder', 'Amount', 'Days', 'Proposal', 'Status', ''];
  main.replaceChildren(head, el('h2', {}, 'Bids'), table(columns, bids), bidForm);
  let formMade = false;
  return {
    async refresh() {
      let data;
      try {
        data = await get('project', { id });
      } catch (e) {
        if (!/^no project/.test(e.message)) throw e;
        // A thread's project, say, that no stream has read (yet).
        main.replaceChildren(el('h1', {}, 'Project ' + id), el('p', { class: 'muted not-synced' },
          'This project is not in the database: flsyncd reads the projects you own, bid on or talk about, ',
          'and those your market searches find, and has not read this one (yet).'));
        return;
      }
      const p = data.project[0];
      head.replaceChildren(el('h1', {}, p.title || ('Project ' + p.id), ' ', state(p.status)),
        el('p', { class: 'muted' }, money(p.budget_minimum, p.currency), ' – ', money(p.budget_maximum), ' · ', when(p.time_submitted)),
        el('div', { class: 'description' }, p.description || p.preview_description || ''));
      // One award at a time: none while a bid holds one (pending: offered, awarded: accepted).
      const awarded = data.bids.some((b) => b.award_status === 'awarded' || b.award_status === 'pending');
      bids.replaceChildren(...(data.bids.length ? data.bids.map((b) => labelled(el('tr', { 'data-id': b.id },
        el('td', {}, b.bidder), el('td', { class: 'num' }, money(b.amount, b.currency)), el('td', { class: 'num' }, b.period),
        el('td', { class: 'long' }, b.description || ''),
        el('td', {}, state(b.local_state ? b.local_state + ' ' + (b.local_action || '') : b.award_status || (b.retracted ? 'retracted' : 'open'))),
        el('td', {}, p.mine && !awarded && !b.award_status && !b.local_state && !b.retracted
          ? action('Award', async () => { await enqueue('bid.award', { bid_id: b.id }); return 'Award queued'; }) : null)), columns))
        : [el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No bids yet.'))]));
      if (!p.mine && !p.my_bid && !formMade) {
        formMade = true;
        const amount = el('input', { type: 'number', min: 1, step: 'any', required: true, id: 'bid-amount', placeholder: 'Amount' });
        const period = el('input', { type: 'number', min: 1, max: 3650, value: 7, required: true, id: 'bid-period' });
        const ms = el('input', { type: 'number', min: 0, max: 100, value: 100, required: true, id: 'bid-milestone' });
        const desc = el('textarea', { id: 'bid-description', placeholder: 'Your proposal' });
        bidForm.replaceChildren(el('h2', {}, 'Place a bid'), el('form', {
          onsubmit: async (ev) => {
            ev.preventDefault();
            try {
              await enqueue('bid.create', { project_id: p.id, amount: Number(amount.value), period: Number(period.value),
                milestone_percentage: Number(ms.value), description: desc.value });
              toast('Bid queued');
              bidForm.replaceChildren();
            } catch (e) { toast(e.message, true); formMade = false; }
            refresh();
          },
        }, el('div', { class: 'inline' }, el('label', {}, 'Amount ', amount), el('label', {}, 'Days ', period),
          el('label', {}, 'Upfront milestone % ', ms)), desc, el('button', { type: 'submit' }, 'Place bid')));
      } else if (p.mine || p.my_bid) {
        bidForm.replaceChildren();
      }
    },
  };
}

// The market: the projects flsyncd's market searches find, and which searches
// those are; none configured, it says so and how to set one.
function marketView() {
  const note = el('div');
  return tableView('Market', 'projects', 'market', ['Project', 'Status', 'Budget', 'Bids', 'Posted', ''], projectRow,
    'No open projects synced.', {
      before: [note],
      async refresh() {
        const searches = (await get('market_searches')).searches;
        if (searches.length) {
          note.replaceChildren(el('p', { class: 'muted market-searches' }, 'Market searches: ',
            searches.map((s) => s.stream.replace(/^projects_market:?/, '').trim() || 'every active project').join(' · ')));
          return;
        }
        note.replaceChildren(el('div', { class: 'note market-note' },
          el('p', {}, 'No market search is configured, so flsyncd reads no market projects: this page shows only ',
            'projects it read for other reasons (those you bid on or talk about).'),
          el('p', {}, 'Add a search to flsyncd\'s configuration, ', el('code', {}, '~/.config/flsync/flsyncd.conf'), ':'),
          el('pre', {}, '[search]\n# one line per search\nquery = logo design\nquery = wordpress\n# optional: job ids to keep to\njobs = 3, 17'),
          el('p', {}, 'then reload flsyncd (', el('code', {}, 'systemctl --user reload flsyncd'),
            ', or send it SIGHUP); its next pass reads the market.')));
      },
    });
}

function bidsView() {
  return tableView('My bids', 'bids', 'bids', ['Project', 'Amount', 'Days', 'Status', 'Placed'], (b) => el('tr', { 'data-id': b.id },
    el('td', {}, el('a', { href: '#/project/' + b.project_id }, b.project_title || ('Project ' + b.project_id))),
    el('td', { class: 'num' }, money(b.amount, b.currency)), el('td', { class: 'num' }, b.period),
    el('td', {}, state(b.local_state || (b.retracted ? 'retracted' : b.award_status || 'open'))),
    el('td', { class: 'when' }, when(b.time_submitted))), 'You have placed no bids.');
}

function milestonesView() {
  return tableView('Milestones', 'milestones', 'milestones', ['Project', 'Amount', 'Status', 'Description', 'Created', ''],
    (m) => el('tr', { 'data-id': m.id },
      el('td', {}, el('a', { href: '#/project/' + m.project_id }, m.project_title || ('Project ' + m.project_id))),
      el('td', { class: 'num' }, money(m.amount, m.currency)),
      el('td', {}, state(m.local_state ? m.local_state + ' ' + (m.local_action || '') : m.status)),
      el('td', { class: 'long' }, m.description || ''), el('td', { class: 'when' }, when(m.time_created)),
      el('td', {}, m.can_release && !m.local_state && (m.status === 'pending' || m.status === 'requested_release')
        ? action('Release', async () => {
          await enqueue('milestone.release', { milestone_id: m.id, amount: m.amount });
          return 'Release queued';
        }) : null)),
    'No milestones.');
}

// An identifier such as ProjectExceptionCodes.DUPLICATE_BID, free to wrap after each dot.
function breakable(s) {
  return s.split('.').flatMap((part, i, all) => (i < all.length - 1 ? [part + '.', el('wbr')] : [part]));
}

// What each action kind does, in words.
const ACTION_KINDS = {
  'bid.create': 'Place a bid', 'bid.update': 'Change a bid', 'bid.award': 'Award a bid',
  'bid.revoke': 'Revoke an award', 'bid.accept': 'Accept an award', 'bid.reject': 'Turn down an award',
  'bid.retract': 'Retract a bid', 'bid.highlight': 'Highlight a bid', 'bid.shortlist': 'Shortlist a bid',
  'milestone.create': 'Create a milestone', 'milestone.release': 'Release a milestone',
  'milestone.request_release': 'Ask for a milestone\'s release', 'milestone.cancel': 'Cancel a milestone',
  'milestone_request.create': 'Request a milestone', 'milestone_request.accept': 'Accept a milestone request',
  'milestone_request.reject': 'Reject a milestone request', 'milestone_request.delete': 'Delete a milestone request',
  'review.post': 'Post a review', 'thread.create': 'Start a thread', 'message.send': 'Send a message',
  'thread.read': 'Mark a thread read', 'thread.archive': 'Archive a thread', 'thread.mute': 'Mute a thread',
  'project.create': 'Post a project', 'project.invite': 'Invite to a project',
};
const ID_LINKS = { project_id: '#/project/', thread_id: '#/thread/' };

// A parameter's value as short text: long text cut (whole in the title), objects as key value pairs.
function paramText(v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(paramText).join(', ');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => k.replace(/_/g, ' ') + ' ' + paramText(x)).join(', ');
  return String(v);
}

// An action's parameters as "project 123 · amount 250 · description “…”", ids of pages linked.
function actionParams(json) {
  let params;
  try { params = JSON.parse(json); } catch (e) { return [json]; }
  if (!params || typeof params !== 'object') return [json];
  const out = [];
  for (const [k, v] of Object.entries(params)) {
    if (out.length) out.push(' · ');
    const name = k.replace(/_id$/, '').replace(/_/g, ' ');
    const text = paramText(v);
    if (ID_LINKS[k] && /^-?\d+$/.test(text)) out.push(name + ' ', el('a', { href: ID_LINKS[k] + text }, text));
    else if (typeof v === 'string') out.push(name + ' ', el('span', { class: 'text', title: v.length > 120 ? v : null },
      '“' + (v.length > 120 ? v.slice(0, 117) + '…' : v) + '”'));
    else out.push(name + ' ' + text);
  }
  return out;
}

function queueView() {
  return tableView('Action queue', 'actions', 'actions', ['#', 'Action', 'State', 'Tries', 'Error', 'Queued', ''], (a) => el('tr', { 'data-id': a.id },
    el('td', { class: 'num' }, a.id),
    el('td', { class: 'action long', title: a.kind }, ACTION_KINDS[a.kind] || a.kind, el('div', { class: 'muted params' }, actionParams(a.params))),
    el('td', {}, state(a.state)), el('td', { class: 'num' }, a.attempts),
    el('td', { class: 'error' }, a.error_code ? el('div', { class: 'code' }, breakable(a.error_code)) : null,
      a.error_message || ''),
    el('td', { class: 'when' }, when(a.created_at)),
    el('td', {}, a.state === 'failed' ? action('Retry', async () => { await post('retry', { id: a.id }); return 'Queued again'; }) : null,
      a.state === 'queued' ? action('Cancel', async () => { await post('cancel', { id: a.id }); return 'Cancelled'; }, 'secondary') : null)),
  'Nothing queued.');
}

function searchView(q) {
  const ul = el('ul', { class: 'list', id: 'results' });
  main.replaceChildren(el('h1', {}, 'Search: ', q), ul);
  document.getElementById('search-q').value = q;
  return {
    async refresh() {
      const rows = (await get('search', { q })).results;
      ul.replaceChildren(...(rows.length ? rows.map((r) => el('li', { class: 'result' },
        el('div', {}, el('span', { class: 'state kind' }, r.kind), ' ', r.kind === 'project'
          ? el('a', { href: '#/project/' + r.id }, r.title) : el('span', {}, r.title),
          ' ', el('span', { class: 'muted' }, r.time || '')),
        el('div', { class: 'snippet' }, marked(r.snippet))))
        : [el('li', { class: 'muted' }, 'Nothing matches.')]));
    },
  };
}

function statusView() {
  const info = el('p');
  const body = el('tbody');
  const sync = action('Sync now', async () => (await post('sync', {})).message);
  sync.id = 'sync-now';
  const columns = ['Stream', 'Rows', 'Requests', 'Last success', 'Last error'];
  main.replaceChildren(el('h1', {}, 'Sync'), info, sync, table(columns, body));
  return {
    async refresh() {
      const s = await get('status');
      const here = s.sync.running ? ' A pass is running here.'
        : s.sync.last_error ? ' The last pass here failed: ' + s.sync.last_error
        : s.sync.passes ? ' The last pass here stored ' + s.sync.last_rows + ' rows, ' + when(s.sync.last_at) + '.'
        : s.sync.here ? ' “Sync now” runs a pass here.' : '';
      info.replaceChildren(s.flsyncd_pid ? 'flsyncd is syncing this database (pid ' + s.flsyncd_pid + ')'
        + (s.next_pass ? '; its next pass is due ' + when(s.next_pass) + '.' : '.')
        : 'No flsyncd is syncing this database.', here, ' Actions: ', s.actions.queued + ' queued, ',
        s.actions.sending + ' sending, ', s.actions.failed + ' failed.');
      body.replaceChildren(...s.streams.map((t) => labelled(el('tr', {},
        el('td', {}, t.stream), el('td', { class: 'num' }, t.rows_synced), el('td', { class: 'num' }, t.requests),
        el('td', { class: 'when' }, when(t.last_success)), el('td', { class: 'error' }, t.last_error || '')), columns)));
    },
  };
}

// ---- routing and live updates ----------------------------------------------

function route() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [name, arg] = [h.split('/')[0] || 'inbox', h.split('/').slice(1).join('/')];
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === name);
  if (name !== 'search') document.getElementById('search-q').value = '';
  const id = /^-?\d+$/.test(arg) ? Number(arg) : null;
  switch (name) {
    case 'thread': view = id !== null ? threadView(id) : inboxView(); break;
    case 'project': view = id !== null ? projectView(id) : inboxView(); break;
    case 'projects': view = tableView('My projects', 'projects', 'projects', ['Project', 'Status', 'Budget', 'Bids', 'Posted', ''], projectRow, 'You have posted no projects.'); break;
    case 'market': view = marketView(); break;
    case 'bids': view = bidsView(); break;
    case 'milestones': view = milestonesView(); break;
    case 'queue': view = queueView(); break;
    case 'search': view = searchView(arg); break;
    case 'status': view = statusView(); break;
    case 'inbox': view = inboxView(arg); break;
    default: view = window.FL_VIEWS && Object.hasOwn(FL_VIEWS, name) ? FL_VIEWS[name](arg) : inboxView();
  }
  refresh();
}

let refreshing = null, again = false;
async function refresh() {
  if (refreshing) { again = true; return refreshing; }
  refreshing = (async () => {
    do {
      again = false;
      try {
        const s = await get('self');
        self = s.self[0] || null;
        const c = s.counts[0];
        const unread = document.getElementById('unread'), pending = document.getElementById('pending');
        unread.textContent = c.unread_threads; unread.hidden = !c.unread_threads;
        pending.textContent = c.pending_actions + c.failed_actions; pending.hidden = !(c.pending_actions + c.failed_actions);
        if (view) await view.refresh();
        document.body.dataset.seq = c.changes_latest;
        // When the first screen was ready, in ms since navigation began (bench_ui reads it).
        if (!document.body.dataset.firstScreen) document.body.dataset.firstScreen = performance.now().toFixed(1);
      } catch (e) {
        toast(e.message, true);
      }
    } while (again);
    refreshing = null;
  })();
  return refreshing;
}

// Live updates.  The stream numbers its events with the change feed's seq,
// so a browser that reconnects is told what it missed; and "hello" says
// where the feed is, so a commit between the first screen and the stream is
// not missed either.  A stream the server refused (too many open) is tried
// again later.
function live() {
  const badge = document.getElementById('live');
  const es = new EventSource('/events?token=' + encodeURIComponent(TOKEN));
  es.addEventListener('hello', (e) => {
    badge.textContent = 'live'; badge.classList.add('on');
    const seq = JSON.parse(e.data).seq;
    if (!document.body.dataset.seq || seq > Number(document.body.dataset.seq)) refresh();
  });
  es.addEventListener('change', () => refresh());
  es.onerror = () => {
    badge.textContent = 'reconnecting'; badge.classList.remove('on');
    if (es.readyState === EventSource.CLOSED) setTimeout(live, 3000);
  };
}

document.getElementById('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = document.getElementById('search-q').value.trim();
  if (q) location.hash = '#/search/' + encodeURIComponent(q);
});
window.addEventListener('hashchange', route);
route();
live();
