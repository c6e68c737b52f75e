// taskscope serve: the dashboard. Reads /api/processes and /api/report?pid=N
// (the `report --json` schema) every few seconds; builds the page with DOM
// calls only (text never becomes markup). No library, nothing from elsewhere.
'use strict';

const REFRESH_MS = 2000;
const STATES = ['running', 'scheduled', 'idle'];
const SVGNS = 'http://www.w3.org/2000/svg';

const ui = {
	pid: null, task: null, sort: 'id', asc: true, filter: '', showDone: false,
	token: null, report: null, hostHist: null, procHist: null,
};

function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (k === 'class') e.className = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
	}
	for (const k of kids.flat())
		if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
	return e;
}

function svg(tag, attrs, ...kids) {
	const e = document.createElementNS(SVGNS, tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
	for (const k of kids) e.append(k instanceof Node ? k : String(k));
	return e;
}

function fill(id, ...kids) {
	const e = document.getElementById(id);
	e.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined));
	return e;
}

function secs(s) {
	if (s === null || s === undefined) return '-';
	if (s >= 3600) return (s / 3600).toFixed(1) + ' h';
	if (s >= 60) return (s / 60).toFixed(1) + ' min';
	if (s >= 1) return s.toFixed(2) + ' s';
	if (s >= 0.001) return (s * 1000).toFixed(1) + ' ms';
	if (s > 0) return (s * 1e6).toFixed(0) + ' us';
	return '0';
}

function pct(r) { return r === null || r === undefined ? '-' : (r * 100).toFixed(1) + ' %'; }

// ---- location: #pid=N&task=ID&token=T ----------------------------------
function readHash() {
	const h = new URLSearchParams(location.hash.slice(1));
	if (h.get('token')) {
		sessionStorage.setItem('taskscope-token', h.get('token'));
		h.delete('token');
		window.history.replaceState(null, '', '#' + h.toString());
	}
	ui.token = sessionStorage.getItem('taskscope-token');
	ui.pid = h.get('pid') ? Number(h.get('pid')) : null;
	ui.task = h.get('task') || null;
}

function go(pid, task) {
	const h = new URLSearchParams();
	if (pid) h.set('pid', pid);
	if (task) h.set('task', task);
	location.hash = h.toString();
}

async function getJSON(url) {
	const headers = ui.token ? { Authorization: 'Bearer ' + ui.token } : {};
	const r = await fetch(url, { headers, cache: 'no-store' });
	if (r.status === 401) throw new Error('token required: open this page as /#token=...');
	if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
	return r.json();
}

// ---- charts: tasks by state over the last minutes (/api/history) -------
function drawChart(id, series) {
	const W = 900, H = 110, pad = 4, windowMs = 5 * 60 * 1000;
	const t = (series && series.t_ms) || [];
	const n = t.length, now = n ? t[n - 1] : 0;
	const total = (i) => STATES.reduce((a, s) => a + series[s][i], 0);
	let max = 1;
	for (let i = 0; i < n; i++) max = Math.max(max, total(i));
	const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none',
		role: 'img', 'aria-label': 'tasks by state over the last 5 minutes' });
	// time runs left to right, the newest sample at the right edge
	const x = (i) => W - pad - ((now - t[i]) * (W - 2 * pad)) / windowMs;
	const y = (v) => H - pad - ((H - 2 * pad) * v) / max;
	const colours = { running: '#2f7d32', scheduled: '#c77800', idle: '#4a6fa5' };
	let base = t.map(() => 0);
	for (const s of STATES) {
		const top = t.map((_, i) => base[i] + series[s][i]);
		if (n) {
			let d = `M${x(0) - 1},${y(base[0])} L${x(0) - 1},${y(top[0])}`;
			top.forEach((v, i) => { d += ` L${x(i)},${y(v)}`; });
			d += ` L${W - pad},${y(top[n - 1])} L${W - pad},${y(base[n - 1])}`;
			for (let i = n - 1; i >= 0; i--) d += ` L${x(i)},${y(base[i])}`;
			root.append(svg('path', { d: d + ' Z', fill: colours[s], 'fill-opacity': '0.75' }));
		}
		base = top;
	}
	fill(id, root, el('div', { class: 'legend' },
		STATES.map((s) => el('span', {}, el('i', { class: 'sw ' + s }), `${s} ${n ? series[s][n - 1] : 0}`)),
		el('span', {}, `(last 5 min, top ${max})`)));
}

async function loadHistory(pid) {
	const h = await getJSON('/api/history?pid=' + pid);
	return h.series[0] || null;
}

// ---- overview ----------------------------------------------------------
function renderOverview(data) {
	const procs = data.processes;
	const tot = { running: 0, scheduled: 0, idle: 0, done: 0 };
	let stalls = 0, deadlocks = 0;
	for (const p of procs) {
		for (const s of Object.keys(tot)) tot[s] += p.task_counts[s] || 0;
		for (const [k, v] of Object.entries(p.stall_counts)) {
			stalls += v;
			if (k === 'deadlock') deadlocks += v;
		}
	}
	const active = tot.running + tot.scheduled + tot.idle;
	fill('summary',
		`${procs.length} process${procs.length === 1 ? '' : 'es'} · ${active} tasks active · `,
		`${tot.idle} idle · `,
		el('span', { class: stalls ? 'bad' : 'ok' }, `${stalls} stall${stalls === 1 ? '' : 's'}`),
		deadlocks ? el('span', { class: 'bad' }, ` · ${deadlocks} deadlock${deadlocks === 1 ? '' : 's'}`) : null);
	drawChart('chart', ui.hostHist);

	const head = el('tr', {}, ['PID', 'process', 'runtime', 'mode', 'running', 'scheduled', 'idle',
		'done', 'workers', 'busy', 'polls/s', 'stalls'].map((h, i) =>
		el('th', { class: i >= 4 ? 'num' : '' }, h)));
	const rows = procs.map((p) => {
		const n = Object.values(p.stall_counts).reduce((a, b) => a + b, 0);
		const kinds = Object.entries(p.stall_counts).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`);
		return el('tr', { class: 'row' + (n ? ' warn' : '') + (p.pid === ui.pid ? ' sel' : ''),
			onclick: () => go(p.pid) },
		el('td', {}, p.pid), el('td', {}, p.comm),
		el('td', {}, `${p.runtime.name} ${p.runtime.version}`), el('td', {}, p.mode),
		['running', 'scheduled', 'idle', 'done'].map((s) => el('td', { class: 'num' }, p.task_counts[s])),
		el('td', { class: 'num' }, p.worker_threads), el('td', { class: 'num' }, pct(p.worker_busy_ratio)),
		el('td', { class: 'num' }, p.polls_per_s === null ? '-' : p.polls_per_s.toFixed(0)),
		el('td', {}, n ? kinds.join(', ') : el('span', { class: 'ok' }, 'none')));
	});
	fill('procs', el('thead', {}, head), el('tbody', {}, rows.length ? rows :
		el('tr', {}, el('td', { colspan: 12 }, 'no process with an observable runtime'))));
	const s = data.self;
	fill('self', `taskscope ${data.version}, mode ${data.mode}: ${s.cpu_s.toFixed(1)} s CPU, ` +
		`${(s.rss_bytes / 1048576).toFixed(1)} MiB resident, ${s.probe_hits} probe hits` +
		(s.probe_cpu_ratio === null ? '' : ` (~${(s.probe_cpu_ratio * 100).toFixed(2)} % of a CPU in the targets)`) +
		`, refresh ${secs(s.refresh_s)}` +
		(s.attach_failures ? `, ${s.attach_failures} process(es) not attached` : ''));
	if (ui.pid === null && procs.length === 1) go(procs[0].pid);
}

// ---- one process: stalls and the deadlock cycle -------------------------
function topFrame(t) {
	const c = t && t.await_chain;
	if (!c || !c.frames || !c.frames.length) return null;
	return c.frames.find((f) => !f.external) || c.frames[0];
}

function where(t) {
	const f = topFrame(t);
	return f ? `${f.file}:${f.line}` : '?';
}

// Edges waiter -> holder: a task whose chain ends waiting on object O, and
// the task whose chain holds O (a guard among its live variables).
function waitGraph(tasks) {
	const holder = new Map();
	for (const t of tasks)
		for (const h of (t.await_chain && t.await_chain.holds) || [])
			holder.set(h.object, t);
	const edges = new Map();
	for (const t of tasks) {
		const leaf = t.await_chain && t.await_chain.leaf;
		if (leaf && leaf.object && holder.has(leaf.object) && holder.get(leaf.object) !== t)
			edges.set(t.header, { to: holder.get(leaf.object), leaf });
	}
	return edges;
}

function findCycle(start, edges) {
	const seen = [];
	let t = start;
	while (t && edges.has(t.header) && !seen.includes(t)) {
		seen.push(t);
		t = edges.get(t.header).to;
	}
	if (!t || !seen.includes(t)) return null;
	return seen.slice(seen.indexOf(t));
}

function drawCycle(cycle, edges) {
	const n = cycle.length, W = 680, H = n <= 2 ? 170 : 300, R = n <= 2 ? 0 : 100;
	const cx = W / 2, cy = H / 2, bw = 250, bh = 40;
	const pos = cycle.map((t, i) => (n === 2 ? { x: i ? W - bw / 2 - 10 : bw / 2 + 10, y: cy } : {
		x: cx + R * 1.6 * Math.sin((2 * Math.PI * i) / n), y: cy - R * Math.cos((2 * Math.PI * i) / n),
	}));
	const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'deadlock cycle' });
	const defs = svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5',
		markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' },
	svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#b3261e' })));
	root.append(defs);
	cycle.forEach((t, i) => {
		const a = pos[i], b = pos[(i + 1) % n], e = edges.get(t.header);
		const bend = n === 2 ? (i ? 45 : -45) : 0;
		const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2 + bend;
		const sx = a.x + (b.x > a.x ? bw / 2 : b.x < a.x ? -bw / 2 : 0);
		const ex = b.x + (a.x > b.x ? bw / 2 : a.x < b.x ? -bw / 2 : 0);
		root.append(svg('path', { class: 'edge', d: `M${sx},${a.y + bend / 3} Q${mx},${my + bend / 2} ${ex},${b.y + bend / 3}`,
			'marker-end': 'url(#arrow)' }));
		root.append(svg('text', { class: 'edgelabel', x: mx, y: my + (bend < 0 ? -6 : 14), 'text-anchor': 'middle' },
			`waits for ${e.leaf.kind} ${e.leaf.object}`));
	});
	cycle.forEach((t, i) => {
		const p = pos[i];
		root.append(svg('g', { class: 'node' },
			svg('rect', { x: p.x - bw / 2, y: p.y - bh / 2, width: bw, height: bh, rx: 6 }),
			svg('text', { x: p.x, y: p.y - 3, 'text-anchor': 'middle' }, `task ${t.id} ${t.name}`),
			svg('text', { x: p.x, y: p.y + 13, 'text-anchor': 'middle' }, `.await at ${where(t)}`)));
	});
	const steps = cycle.map((t, i) => {
		const e = edges.get(t.header), next = cycle[(i + 1) % n];
		return el('li', {}, `task ${t.id} ${t.name} .await at ${where(t)} waits for ${e.leaf.kind} ` +
			`${e.leaf.object}, held by task ${next.id} ${next.name}`);
	});
	return el('div', { class: 'cycle' }, root, el('ol', {}, steps));
}

function renderStalls(r) {
	const edges = waitGraph(r.tasks);
	const byHeader = new Map(r.tasks.map((t) => [t.header, t]));
	if (!r.stalls.length)
		return fill('stalls', el('p', { class: 'ok' }, 'No stall found.'));
	fill('stalls', r.stalls.map((s) => {
		const t = byHeader.get(s.header);
		const box = el('div', { class: 'stall ' + s.kind },
			el('span', { class: 'kind' }, s.kind.replace('_', ' ')), ' ',
			t ? el('a', { href: `#pid=${r.pid}&task=${t.id || t.header}` }, `task ${t.id} ${s.name}`) : s.name,
			` · ${s.at_least ? '>= ' : ''}${secs(s.duration_s)}`,
			el('div', {}, s.message));
		if (s.kind === 'deadlock' && t) {
			const cycle = findCycle(t, edges);
			if (cycle) box.append(drawCycle(cycle, edges));
		}
		return box;
	}));
}

// ---- one process: the task table ----------------------------------------
const COLUMNS = [
	{ key: 'id', title: 'Id', num: true },
	{ key: 'name', title: 'task' },
	{ key: 'state', title: 'state' },
	{ key: 'in_state_s', title: 'in state', num: true, fmt: secs },
	{ key: 'where', title: '.await at' },
	{ key: 'polls', title: 'polls', num: true },
	{ key: 'busy_s', title: 'busy', num: true, fmt: secs },
	{ key: 'idle_s', title: 'idle', num: true, fmt: secs },
	{ key: 'wakes', title: 'wakes', num: true },
	{ key: 'max_poll_s', title: 'max poll', num: true, fmt: secs },
];

function cell(t, key) { return key === 'where' ? (topFrame(t) ? where(t) : '') : t[key]; }

function renderTasks(r) {
	const flagged = new Set(r.stalls.map((s) => s.header));
	const f = ui.filter.toLowerCase();
	let tasks = r.tasks.filter((t) => (ui.showDone || t.state !== 'done') &&
		(!f || `${t.id} ${t.name} ${t.state} ${where(t)}`.toLowerCase().includes(f)));
	const col = COLUMNS.find((c) => c.key === ui.sort) || COLUMNS[0];
	tasks = tasks.slice().sort((a, b) => {
		const x = cell(a, col.key), y = cell(b, col.key);
		const c = col.num ? x - y : String(x).localeCompare(String(y));
		return (ui.asc ? c : -c) || a.id - b.id;
	});
	const head = el('tr', {}, COLUMNS.map((c) => el('th', {
		class: (c.num ? 'num ' : '') + (c.key === ui.sort ? 'sorted' + (ui.asc ? ' asc' : '') : ''),
		title: 'sort', onclick: () => {
			ui.asc = ui.sort === c.key ? !ui.asc : !c.num;
			ui.sort = c.key;
			renderProcess();
		},
	}, c.title)));
	const shown = tasks.slice(0, 2000);
	const rows = shown.map((t) => el('tr', {
		class: 'row' + (flagged.has(t.header) ? ' warn' : '') + (String(t.id) === ui.task ? ' sel' : ''),
		onclick: () => go(r.pid, t.id || t.header),
	}, COLUMNS.map((c) => {
		const v = cell(t, c.key);
		return el('td', { class: (c.num ? 'num' : '') + (c.key === 'state' ? ` state ${v}` : '') },
			c.fmt ? c.fmt(v) : v);
	})));
	fill('tasks', el('thead', {}, head), el('tbody', {}, rows.length ? rows :
		el('tr', {}, el('td', { colspan: COLUMNS.length }, 'no task matches'))));
	if (tasks.length > shown.length)
		document.getElementById('tasks').append(el('caption', {}, `first ${shown.length} of ${tasks.length}`));
}

// ---- one process: a task in full ----------------------------------------
function renderDetail(r) {
	const box = document.getElementById('detail');
	const t = ui.task && r.tasks.find((x) => String(x.id) === ui.task || x.header === ui.task);
	if (!t) { box.hidden = true; return; }
	box.hidden = false;
	const c = t.await_chain;
	const chain = [];
	if (c && c.frames) {
		c.frames.forEach((f, i) => {
			chain.push(el('li', { class: f.external ? 'ext' : '' }, `${'  '.repeat(i)}${i ? '-> ' : ''}`,
				el('span', {}, f.func), ' .await at ', el('span', { class: 'loc' }, `${f.file}:${f.line}`)));
			const vars = Object.entries(f.vars || {});
			if (vars.length)
				chain.push(el('li', { class: 'vars' }, vars.map(([k, v]) => `${k} = ${v}`).join(', ')));
		});
		if (c.leaf)
			chain.push(el('li', { class: 'leaf' }, `${'  '.repeat(c.frames.length)}-> ${c.leaf.type}: ${c.leaf.detail}`));
		for (const h of c.holds || [])
			chain.push(el('li', {}, `holds ${h.kind} ${h.object} (${h.var} in frame ${h.frame})`));
	}
	const hist = t.poll_hist_log2_us || [];
	const hmax = Math.max(1, ...hist);
	const bars = hist.map((v, i) => {
		const d = el('div', { title: `${v} polls of ${i ? 2 ** (i - 1) : 0}-${2 ** i} us` });
		d.style.height = `${(100 * v) / hmax}%`;
		return d;
	});
	fill('detail',
		el('h3', {}, `task ${t.id} ${t.name}`),
		el('p', {}, el('span', { class: 'state ' + t.state }, t.state),
			` for ${t.since_attach ? '>= ' : ''}${secs(t.in_state_s)} · ${t.polls} polls · busy ${secs(t.busy_s)} · ` +
			`idle ${secs(t.idle_s)} · ${t.wakes} wakes · longest poll ${secs(t.max_poll_s)}`),
		el('p', { class: 'note' }, t.future_type),
		el('h3', {}, 'Await chain'),
		c && c.frames ? el('ul', { class: 'chain' }, chain) :
			el('p', { class: 'note' }, t.state === 'idle' || t.state === 'scheduled' ?
				(r.debuginfo.present ? 'no await chain read for this task' : r.debuginfo.note) :
				`not suspended at an .await (${t.state})`),
		el('h3', {}, 'Poll durations (log2 microseconds)'),
		el('div', { class: 'hist' }, bars));
}

function renderProcess() {
	const r = ui.report;
	if (!r) return;
	document.getElementById('overview').hidden = false;
	fill('proc-title', `PID ${r.pid} ${r.comm} · ${r.runtime.name} ${r.runtime.version}`);
	const tc = r.task_counts;
	fill('proc-note', `${r.worker_threads} workers · ${tc.running} running, ${tc.scheduled} scheduled, ` +
		`${tc.idle} idle, ${tc.done} done · mode ${r.mode} · stall threshold ${r.stall_threshold_ms} ms` +
		(r.debuginfo.present ? '' : ` · ${r.debuginfo.note}`));
	drawChart('proc-chart', ui.procHist);
	renderStalls(r);
	renderTasks(r);
	renderDetail(r);
}

// ---- the loop ------------------------------------------------------------
async function refresh() {
	try {
		const data = await getJSON('/api/processes');
		ui.hostHist = await loadHistory(0);
		renderOverview(data);
		const sec = document.getElementById('process');
		if (ui.pid !== null && data.processes.some((p) => p.pid === ui.pid)) {
			ui.report = await getJSON('/api/report?pid=' + ui.pid);
			ui.procHist = await loadHistory(ui.pid);
			sec.hidden = false;
			renderProcess();
		} else {
			sec.hidden = true;
			ui.report = null;
		}
		fill('status', 'updated ' + new Date().toLocaleTimeString());
	} catch (e) {
		fill('status', el('span', { class: 'bad' }, String(e.message || e)));
	}
}

function start() {
	readHash();
	window.addEventListener('hashchange', () => { readHash(); ui.report = null; refresh(); });
	document.getElementById('filter').addEventListener('input', (e) => {
		ui.filter = e.target.value;
		renderProcess();
	});
	document.getElementById('show-done').addEventListener('change', (e) => {
		ui.showDone = e.target.checked;
		renderProcess();
	});
	refresh();
	setInterval(refresh, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', start);
