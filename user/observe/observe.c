/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "array.h"
#include "observe.h"
#include "thread_root.h"
#include "procfs.h"

#define MAX_THREADS 4096

uint64_t ts_now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: one clock on both sides */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * gdb's gcore may leave the read-only code of the binary out of the core
 * (it is in the file): then the mapping of the binary's first bytes gives
 * the bias, from the first PT_LOAD of the ELF.
 */
static int bias_from_first_segment(struct observed_proc *op, const struct proc_maps *maps)
{
	uint64_t first_vaddr = UINT64_MAX;
	size_t i, nph = 0;
	GElf_Phdr ph;
	Elf *elf;
	int fd, err = -ENOENT;

	fd = open(op->elf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_getphdrnum(elf, &nph) == 0) {
		for (i = 0; i < nph; i++)
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_offset == 0) {
				first_vaddr = ph.p_vaddr & ~(uint64_t)0xfff;
				break;
			}
	}
	elf_end(elf);
	for (i = 0; first_vaddr != UINT64_MAX && i < maps->n; i++) {
		uint8_t in_file[4096], in_core[4096];

		if (strcmp(maps->v[i].path, op->exe) || maps->v[i].offset != 0)
			continue;
		/* the same build only: its first page (headers, build id) as dumped */
		if (pread(fd, in_file, sizeof(in_file), 0) != (ssize_t)sizeof(in_file) ||
		    proc_read_mem(op->pid, maps->v[i].start, in_core, sizeof(in_core)) !=
			    (ssize_t)sizeof(in_core) ||
		    memcmp(in_file, in_core, sizeof(in_file)))
			break;
		op->bias = maps->v[i].start - first_vaddr;
		err = 0;
		break;
	}
	close(fd);
	return err;
}

int observed_proc__compute_bias(struct observed_proc *op)
{
	struct proc_maps maps;
	uint64_t vaddr, off;
	int err;

	/* any code address of the binary will do: a poll instance or a probe site */
	if (op->tb.npolls) {
		vaddr = op->tb.polls[0].fn.vaddr;
		off = op->tb.polls[0].fn.file_off;
	} else if (op->tb.nusdt) {
		vaddr = op->tb.usdt[0].pc;
		off = op->tb.usdt[0].pc_off;
	} else {
		return -ENOENT;
	}
	err = proc_maps__read(op->pid, &maps);
	if (err)
		return err;
	err = proc_maps__load_bias(&maps, op->exe, vaddr, off, &op->bias);
	if (err && op->core)
		err = bias_from_first_segment(op, &maps);
	proc_maps__free(&maps);
	return err;
}

int observed_proc__open(struct observed_proc *op, pid_t pid, char *why, size_t whylen)
{
	const char *no_program;
	int err;

	memset(op, 0, sizeof(*op));
	op->pid = pid;
	if (!proc_exists(pid)) {
		snprintf(why, whylen, "no process with PID %d", pid);
		return -ESRCH;
	}
	proc_comm(pid, 0, op->comm, sizeof(op->comm));
	no_program = proc_no_program(pid);
	if (no_program) {
		snprintf(why, whylen, "PID %d (%s) %s: nothing to observe", pid, op->comm,
			 no_program);
		return -ENOENT;
	}
	proc_ns_pid(pid, &op->ns_pid);
	err = proc_identity(pid, &op->id);
	if (!err)
		err = proc_exe_path(pid, op->exe, sizeof(op->exe));
	if (err) {
		snprintf(why, whylen, "PID %d (%s): can't read /proc/%d: %s", pid, op->comm,
			 pid, strerror(-err));
		return err;
	}
	/* /proc/PID/exe opens the file even inside another mount namespace */
	snprintf(op->elf_path, sizeof(op->elf_path), "/proc/%d/exe", pid);
	err = runtime_binary__load(&op->tb, op->elf_path);
	if (err == -ESRCH) {
		/* panic-location strings survive strip: they tell tokio is there */
		if (!op->tb.has_symtab && op->tb.version[0])
			snprintf(why, whylen,
				 "PID %d (%s): %s has no symbol table (stripped?) and no %s task "
				 "vtable of a known shape; build without `strip` (found %s %s)", pid,
				 op->comm, op->exe, op->tb.runtime_name, op->tb.runtime_name,
				 op->tb.version);
		else
			snprintf(why, whylen,
				 "PID %d (%s): %s has no supported async runtime (no tokio or "
				 "async-task task symbols)", pid, op->comm, op->exe);
		runtime_binary__free(&op->tb);
		return err;
	}
	if (err) {
		snprintf(why, whylen, "PID %d (%s): can't read %s: %s", pid, op->comm, op->exe,
			 err == -ENOEXEC ? "not a valid ELF file" : strerror(-err));
		return err;
	}
	err = observed_proc__compute_bias(op);
	if (err) {
		snprintf(why, whylen, "PID %d (%s): %s is not mapped as expected", pid,
			 op->comm, op->exe);
		runtime_binary__free(&op->tb);
		return err;
	}
	return 0;
}

int observed_proc__load_bpf(struct observed_proc *op, bool verbose)
{
	int err = ts_bpf__open_load(&op->own_bpf, verbose);

	if (err)
		return err;
	op->owns_bpf = true;
	return 0;
}

int observed_proc__attach(struct observed_proc *op, struct ts_bpf *bpf, enum ts_probe_mode mode,
			  char *why, size_t whylen)
{
	int err;

	if (!bpf)
		bpf = &op->own_bpf;
	/* read before the probes go in: an Id at or above it is newer than the attach */
	op->next_task_id_at_attach = 0;
	if (op->tb.next_task_id_vaddr)
		proc_read_u64(op->pid, op->tb.next_task_id_vaddr + op->bias,
			      &op->next_task_id_at_attach);
	err = ts_bpf__attach_tokio(bpf, op->pid, &op->tb, mode, &op->links);
	if (err) {
		enum observed_change ch = observed_proc__check(op);

		if (ch != OBSERVED_SAME)
			snprintf(why, whylen, "PID %d %s while attaching", op->pid,
				 observed_change__text(ch));
		else if (err == -EINVAL || err == -EOPNOTSUPP)
			snprintf(why, whylen, "PID %d: attaching uprobes failed (%s): this kernel "
				 "needs uprobe_multi links (Linux 6.6 or later)", op->pid,
				 strerror(-err));
		else
			snprintf(why, whylen, "PID %d: attaching uprobes failed: %s", op->pid,
				 strerror(-err));
		return err;
	}
	op->bpf = bpf;
	op->attach_ns = ts_now_ns();
	op->mode = mode;
	observed_proc__mark_roots(op);
	return 0;
}

void observed_proc__detach(struct observed_proc *op)
{
	proc_links__detach(&op->links);
	op->bpf = NULL;
	if (op->owns_bpf)
		ts_bpf__destroy(&op->own_bpf);
	op->owns_bpf = false;
}

enum observed_change observed_proc__check(const struct observed_proc *op)
{
	struct proc_identity now;

	/* a zombie has exited: its memory and threads are gone */
	if (proc_identity(op->pid, &now) || now.start_ticks != op->id.start_ticks ||
	    now.state == 'Z' || now.state == 'X')
		return OBSERVED_EXITED;
	/*
	 * exec keeps PID, start time and state: a new stack, or a new
	 * executable file, tells it. The maps, the binary's layout and the
	 * tasks we read all belong to the program we opened.
	 */
	if (now.start_stack != op->id.start_stack ||
	    (op->id.exe_ino && (now.exe_ino != op->id.exe_ino || now.exe_dev != op->id.exe_dev)))
		return OBSERVED_EXECED;
	return OBSERVED_SAME;
}

bool observed_proc__alive(const struct observed_proc *op)
{
	return observed_proc__check(op) == OBSERVED_SAME;
}

const char *observed_change__text(enum observed_change c)
{
	return c == OBSERVED_EXECED ? "replaced its program (exec)" : "exited";
}

void observed_proc__load_dwarf(struct observed_proc *op, const char *debuginfo_path)
{
	char name[256];
	size_t i;
	int err;

	if (op->tb.runtime == TS_RT_USDT)
		return;	/* the runtime names tasks and resources itself */
	if (op->tb.runtime != TS_RT_TOKIO) {
		snprintf(op->dwarf_note, sizeof(op->dwarf_note),
			 "await chains are read for tokio tasks only");
		return;
	}
	err = ts_dwarf__open(op->elf_path, debuginfo_path, &op->dw, op->dwarf_note,
			     sizeof(op->dwarf_note));
	if (err) {
		if (!op->dwarf_note[0])
			snprintf(op->dwarf_note, sizeof(op->dwarf_note),
				 "reading DWARF of %s failed: %s", op->exe, strerror(-err));
		op->dw = NULL;
		return;
	}
	/* DWARF names T exactly, where drop glue may have been folded */
	for (i = 0; i < op->tb.npolls; i++) {
		struct task_poll_fn *pf = &op->tb.polls[i];

		if (ts_dwarf__future_name(op->dw, pf->fn.vaddr, name, sizeof(name)) || !name[0])
			continue;
		snprintf(pf->name, sizeof(pf->name), "%s", name);
		pf->name_ambiguous = false;
		/*
		 * Identical drop glue of two futures is folded into one function
		 * (ICF): the type it named may be the other future's.
		 */
		if (strncmp(pf->future_type, name, strlen(name)))
			snprintf(pf->future_type, sizeof(pf->future_type), "%s", name);
	}
}

/* A polled task is on a worker's stack, not parked at an await. */
static bool chain_readable(const struct ts_task *t)
{
	return t->poll_fn_vaddr && (t->state == TS_TASK_IDLE || t->state == TS_TASK_SCHEDULED);
}

/* -ENOMEM, else 0 with t->chain NULL when the DWARF has no chain for t. */
static int read_chain(struct observed_proc *op, struct ts_task *t)
{
	if (!t->chain)
		t->chain = calloc(1, sizeof(*t->chain));	/* tens of KiB */
	if (!t->chain)
		return -ENOMEM;
	if (ts_dwarf__task_chain(op->dw, op->pid, op->bias, t->poll_fn_vaddr, t->header,
				 t->chain)) {
		free(t->chain);
		t->chain = NULL;
	}
	return 0;
}

static int cmp_longest_wait(const void *a, const void *b, void *ctx)
{
	const struct ts_process *p = ctx;
	uint64_t x = p->tasks[*(const size_t *)a].in_state_ns;
	uint64_t y = p->tasks[*(const size_t *)b].in_state_ns;

	return (x < y) - (x > y);
}

void observed_proc__await_chains(struct observed_proc *op, struct ts_process *p,
				 uint64_t only_task, uint64_t min_wait_ns)
{
	size_t i, n = 0, *pick;

	if (!op->dw)
		return;
	pick = calloc(p->ntasks + 1, sizeof(*pick));
	if (!pick)
		return;
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];

		if (only_task && t->task_id != only_task)
			continue;
		if (!chain_readable(t))
			continue;
		if (t->in_state_ns < min_wait_ns)
			continue;
		pick[n++] = i;
	}
	/*
	 * A chain is tens of KiB and a walk tens of microseconds: with many
	 * thousands of suspended tasks, the longest-waiting ones are the
	 * ones worth reading.
	 */
	if (n > TS_MAX_CHAINS) {
		qsort_r(pick, n, sizeof(*pick), cmp_longest_wait, p);
		p->chains_skipped = n - TS_MAX_CHAINS;
		n = TS_MAX_CHAINS;
	}
	for (i = 0; i < n; i++)
		if (read_chain(op, &p->tasks[pick[i]]))
			break;
	free(pick);
}

void observed_proc__task_chain(struct observed_proc *op, struct ts_task *t)
{
	if (op->dw && !t->chain && chain_readable(t))
		read_chain(op, t);
}

void observed_proc__close(struct observed_proc *op)
{
	observed_proc__detach(op);
	mem_carry__free(&op->carry);
	observed_proc__free_roots(op);
	ts_dwarf__close(op->dw);
	op->dw = NULL;
	runtime_binary__free(&op->tb);
}

void observed_proc__name_task(const struct observed_proc *op, struct ts_task *t, int poll_idx)
{
	const struct task_poll_fn *pf;

	if (poll_idx < 0 || (size_t)poll_idx >= op->tb.npolls)
		return;
	pf = &op->tb.polls[poll_idx];
	t->poll_fn_vaddr = pf->fn.vaddr;
	t->name = ts_intern(pf->name);
	t->name_ambiguous = pf->name_ambiguous;
	t->future_type = ts_intern(pf->future_type);
}

static int read_tasks_map(struct observed_proc *op, struct ts_bpf *bpf, struct ts_process *p,
			  uint64_t *entries)
{
	int fd = ts_bpf__map_fd(bpf, "tasks");
	struct ts_task_key key, next;
	struct ts_task_stats st;
	void *prev = NULL;

	*entries = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ts_task *t;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st))
			continue;	/* evicted between the two calls */
		(*entries)++;
		if (key.tgid != (uint32_t)op->pid)
			continue;
		t = ts_process__add_task(p);
		if (!t)
			return -ENOMEM;
		t->header = key.header;
		t->st = st;
		t->seen_by_probe = true;
		t->state = (enum ts_task_state)st.state;
		t->in_state_ns = p->snapshot_ns > st.last_transition_ns ?
				 p->snapshot_ns - st.last_transition_ns : 0;
		t->task_id = st.task_id;
		if (TS_COOKIE_IDX(st.poll_fn) != TS_POLL_UNKNOWN)
			observed_proc__name_task(op, t, (int)TS_COOKIE_IDX(st.poll_fn));
	}
	return 0;
}

static int read_workers_map(struct observed_proc *op, struct ts_bpf *bpf, struct ts_process *p)
{
	int fd = ts_bpf__map_fd(bpf, "workers");
	uint32_t key, next;
	struct ts_worker_state st;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct ts_worker *w;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st) || st.tgid != (uint32_t)op->pid)
			continue;
		w = ts_process__add_worker(p);
		if (!w)
			return -ENOMEM;
		w->tid = key;
		w->st = st;
		w->seen_by_probe = true;
		if (st.depth) {
			uint64_t word = 0;

			/*
			 * Without a uretprobe an ended poll stays open until the
			 * thread polls again or sleeps: the RUNNING bit tells.
			 */
			if (!proc_read_u64(op->pid, st.header + op->tb.layout.hdr_state_off,
					   &word) && !(word & op->tb.layout.running))
				w->st.depth = 0;
			else if (p->snapshot_ns > st.poll_start_ns)
				w->current_poll_ns = p->snapshot_ns - st.poll_start_ns;
		}
		if (proc_comm(op->pid, (pid_t)key, w->comm, sizeof(w->comm)))
			snprintf(w->comm, sizeof(w->comm), "(exited)");
	}
	return 0;
}

/* What USDT runtimes announced: task names and locations, resources. */
static int read_usdt_maps(struct observed_proc *op, struct ts_bpf *bpf, struct ts_process *p)
{
	int fd = ts_bpf__map_fd(bpf, "usdt_tasks");
	struct ts_task_key tk;
	struct ts_usdt_task_info info;
	struct ts_res_key rk, rnext;
	struct ts_resource r;
	size_t i;
	void *prev = NULL;

	for (i = 0; i < p->ntasks; i++) {
		struct ts_task *t = &p->tasks[i];

		tk.tgid = (uint32_t)op->pid;
		tk.pad = 0;
		tk.header = t->header;
		if (bpf_map_lookup_elem(fd, &tk, &info))
			continue;
		t->name = ts_intern(info.name);
		t->location = ts_intern(info.location);
		t->task_id = t->header;
		t->parent_known = true;
		t->parent_id = info.parent_id;
	}
	fd = ts_bpf__map_fd(bpf, "resources");
	while (bpf_map_get_next_key(fd, prev, &rnext) == 0) {
		struct ts_res_info *nv;

		rk = rnext;
		prev = &rk;
		if (rk.tgid != (uint32_t)op->pid || bpf_map_lookup_elem(fd, &rk, &r))
			continue;
		nv = ts_array_add(&p->resources, &p->nresources, &p->resources_cap);
		if (!nv)
			return -ENOMEM;
		nv->id = rk.res_id;
		nv->r = r;
	}
	return 0;
}

/*
 * Who spawned each task (bpf: task_spawn), joined by task Id: the task
 * polled on the spawning thread, else the thread itself (its block_on
 * root when it has one). Tasks spawned before attach, or outside sampled
 * mode's bursts, keep parent_known false.
 */
static void read_spawns(struct observed_proc *op, struct ts_bpf *bpf, struct ts_process *p)
{
	int fd = ts_bpf__map_fd(bpf, "spawns");
	struct ts_spawn_key key = { .tgid = (uint32_t)op->pid };
	struct ts_spawn sp;
	size_t i, k;

	if (fd < 0 || !op->tb.nspawn_sites)
		return;
	for (i = 0; i < p->ntasks; i++) {
		struct ts_task *t = &p->tasks[i];

		if (!t->task_id || t->root_tid || (t->parent_known && op->tb.nusdt))
			continue;
		key.task_id = t->task_id;
		if (bpf_map_lookup_elem(fd, &key, &sp))
			continue;
		t->parent_known = true;
		t->parent_header = sp.parent_header;
		t->parent_id = sp.parent_id;
		t->spawn_tid = sp.tid;
		/* the parent's Id when its polls were not seen reading it */
		for (k = 0; !t->parent_id && sp.parent_header && k < p->ntasks; k++)
			if (p->tasks[k].header == sp.parent_header && p->tasks[k].task_id &&
			    p->tasks[k].task_id < t->task_id)
				t->parent_id = p->tasks[k].task_id;
	}
}

static int read_lost_wakes(struct observed_proc *op, struct ts_bpf *bpf, struct ts_process *p)
{
	int fd = ts_bpf__map_fd(bpf, "lost_wakes"), err;
	struct ts_type_key key, next;
	void *prev = NULL;
	uint64_t n;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		const char *name = "";

		key = next;
		prev = &key;
		if (key.tgid != (uint32_t)op->pid || bpf_map_lookup_elem(fd, &key, &n))
			continue;
		if (key.poll_idx < op->tb.npolls) {
			name = op->tb.polls[key.poll_idx].name;
		} else if (key.vtable) {
			/* never seen polled: its vtable names it (vtables are sorted by vaddr) */
			size_t lo = TS_LOWER_BOUND(op->tb.vtables, op->tb.nvtables, vaddr,
						   key.vtable - op->bias);

			if (lo < op->tb.nvtables && op->tb.vtables[lo].vaddr + op->bias == key.vtable &&
			    op->tb.vtables[lo].poll_idx >= 0 &&
			    (size_t)op->tb.vtables[lo].poll_idx < op->tb.npolls)
				name = op->tb.polls[op->tb.vtables[lo].poll_idx].name;
		}
		err = ts_process__add_lost_wakes(p, name, n);
		if (err)
			return err;
	}
	return 0;
}

static void read_counters(struct ts_bpf *bpf, struct ts_process *p)
{
	uint32_t k;

	for (k = 0; k < TS_CNT_MAX; k++)
		p->counters[k] += ts_bpf__counter(bpf, k);
}

static bool is_runtime_worker(const struct observed_proc *op, const char *comm)
{
	return runtime_desc__is_worker_thread(op->tb.desc, comm);
}

/*
 * Worker threads of the process's runtimes. tokio names its blocking-pool
 * threads like its workers, so a pool grown by spawn_blocking would count
 * as workers by name: when memory shows the workers' launch tasks (one per
 * multi-thread worker), they are the count.
 */
/* How many of the process's threads (comms[0..n)) bear comm. */
static int threads_named(char (*comms)[32], int n, const char *comm)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += !strcmp(comms[i], comm);
	return c;
}

static void count_worker_threads(struct observed_proc *op, struct ts_process *p, size_t nlaunch)
{
	static pid_t tids[MAX_THREADS];
	static char comms[MAX_THREADS][32];
	int n = proc_threads(op->pid, tids, MAX_THREADS), i;
	size_t named = 0, count, k;

	for (i = 0; i < n; i++) {
		if (proc_comm(op->pid, tids[i], comms[i], sizeof(comms[i])))
			comms[i][0] = '\0';
		if (comms[i][0] && is_runtime_worker(op, comms[i]))
			named++;
	}
	/*
	 * block_in_place: its thread stays in the calling task's poll (and
	 * in the launch or hand-off task it ran the worker in) while a
	 * hand-off task runs the worker on a new thread. Workers: launch and
	 * hand-off tasks, less the threads inside block_in_place now.
	 */
	memcpy(p->handoff_types, op->handoff_types, sizeof(p->handoff_types));
	p->nhandoffs = op->nhandoffs;
	if (nlaunch && p->nhandoffs) {
		size_t inside = 0;

		for (k = 0; k < p->ntasks; k++)
			inside += p->tasks[k].state == TS_TASK_RUNNING &&
				  ts_task__uses_block_in_place(p, &p->tasks[k]);
		nlaunch += p->nhandoffs;
		nlaunch = nlaunch > inside ? nlaunch - inside : 1;
	}
	/* named like workers beyond the launch tasks' count: the blocking pool */
	count = nlaunch ? nlaunch : named;
	if (nlaunch && named > nlaunch) {
		p->nblocking_threads = named - nlaunch;
		p->nblocking_busy = op->blocking_jobs < p->nblocking_threads ? op->blocking_jobs :
			p->nblocking_threads;
	}
	/*
	 * A current_thread runtime polls on whatever thread calls block_on.
	 * A multi-thread runtime given its own thread_name polls on threads
	 * that share that name, and the launch tasks counted them already.
	 */
	for (k = 0; k < p->nworkers; k++) {
		const char *comm = p->workers[k].comm;

		if (is_runtime_worker(op, comm) || !p->workers[k].st.polls)
			continue;
		if (nlaunch && n > 0 && threads_named(comms, n, comm) > 1)
			continue;
		count++;
	}
	p->nworker_threads = count;
}

/* How the descriptor fared against the process (checked at the first scan). */
static void layout_into(const struct observed_proc *op, struct ts_process *p)
{
	p->layout_descriptor = op->tb.runtime != TS_RT_USDT && op->tb.desc ?
			       op->tb.desc->name : NULL;
	p->layout_checked = op->layout_done && !op->core;
	p->layout_confirmed = op->layout.confirmed;
	p->layout_refuted = op->memory_off;
	snprintf(p->layout_verdict, sizeof(p->layout_verdict), "%s", op->layout.verdict);
}

/* What every snapshot says of the process before its tasks. */
static void snapshot_header(const struct observed_proc *op, struct ts_process *p)
{
	ts_process__free(p);
	memset(p, 0, sizeof(*p));
	p->pid = op->pid;
	p->ns_pid = op->ns_pid != op->pid ? op->ns_pid : 0;
	snprintf(p->comm, sizeof(p->comm), "%s", op->comm);
	snprintf(p->exe, sizeof(p->exe), "%s", op->exe);
	snprintf(p->runtime, sizeof(p->runtime), "%s", op->tb.runtime_name);
	snprintf(p->runtime_version, sizeof(p->runtime_version), "%s",
		 op->tb.version[0] ? op->tb.version : "unknown");
	p->has_debuginfo = op->dw != NULL;
	snprintf(p->debuginfo_note, sizeof(p->debuginfo_note), "%s", op->dw ? "" : op->dwarf_note);
	p->attach_ns = op->attach_ns;
	p->nprobes = op->links.nprobes;
	p->probe_mode = op->mode == TS_MODE_FULL ? "full" :
			op->mode == TS_MODE_LIGHT ? "light" : "default";
	p->snapshot_ns = ts_now_ns();
	p->observed_ns = p->snapshot_ns - op->attach_ns;
}

int observed_proc__snapshot_tasks(struct observed_proc *op, bool scan_memory,
				  struct ts_process *p)
{
	struct ts_bpf *bpf = op->bpf;
	uint64_t entries = 0;
	int err;

	if (!bpf)
		return -ENOTCONN;	/* detached: the maps are gone */

	snapshot_header(op, p);
	err = read_tasks_map(op, bpf, p, &entries);
	if (!err)
		err = read_workers_map(op, bpf, p);
	if (!err)
		err = read_lost_wakes(op, bpf, p);
	if (!err && op->tb.nusdt)
		err = read_usdt_maps(op, bpf, p);
	if (err)
		return err;
	read_counters(bpf, p);
	if (p->counters[TS_CNT_TASK_INSERTS] > entries)
		p->tasks_evicted = p->counters[TS_CNT_TASK_INSERTS] - entries;
	if (scan_memory) {
		err = observed_proc__merge_memory(op, p);
		if (err && err != -ENOENT)
			return err;
		err = observed_proc__add_roots(op, p);
		if (!err && op->carry_scans)
			err = mem_carry__take(&op->carry, p);
	} else {
		err = mem_carry__apply(&op->carry, p);
	}
	if (err)
		return err;
	read_spawns(op, bpf, p);
	count_worker_threads(op, p, op->worker_launch_tasks);
	layout_into(op, p);
	return 0;
}

/* A running poll this long gets its thread's stack read for block_in_place. */
#define HANDOFF_CHECK_NS	(10 * 1000 * 1000ULL)

/*
 * The running tasks whose long poll's thread has block_in_place on its
 * stack (called from a nested async fn, the hand-off's closure type does
 * not name the task).
 */
static void handoff_callers(struct observed_proc *op, struct ts_process *p)
{
	size_t i;

	if (!op->dw || op->core)
		return;
	for (i = 0; i < p->ntasks; i++) {
		struct ts_task *t = &p->tasks[i];
		const struct ts_worker *w;

		if (t->state != TS_TASK_RUNNING || ts_task__uses_block_in_place(p, t))
			continue;
		w = ts_process__worker_polling(p, t->header);
		/*
		 * Only a poll long enough to matter: a hot service's short polls
		 * are never read. Not gated on a hand-off seen in memory: sampled
		 * mode finds new blocking-pool tasks at its full scans only.
		 */
		if (!w || w->current_poll_ns < HANDOFF_CHECK_NS)
			continue;
		/* legacy mangling: each path component is length-prefixed */
		if (ts_dwarf__thread_calls(op->dw, op->pid, (pid_t)w->tid, op->bias,
						"14block_in_place") == 1)
			t->in_block_in_place = true;
	}
}

/* In a container (its own PID namespace), each worker's TID as it sees it. */
static void worker_ns_tids(const struct observed_proc *op, struct ts_process *p)
{
	size_t i;

	if (!p->ns_pid || op->core)
		return;
	for (i = 0; i < p->nworkers; i++) {
		pid_t ns_tid = 0;

		if (!proc_ns_pid((pid_t)p->workers[i].tid, &ns_tid) &&
		    (uint32_t)ns_tid != p->workers[i].tid)
			p->workers[i].ns_tid = (uint32_t)ns_tid;
	}
}

void observed_proc__snapshot_workers(struct observed_proc *op, struct ts_process *p)
{
	worker_ns_tids(op, p);
	handoff_callers(op, p);
}

int observed_proc__snapshot(struct observed_proc *op, bool scan_memory, struct ts_process *p)
{
	int err = observed_proc__snapshot_tasks(op, scan_memory, p);

	if (!err)
		observed_proc__snapshot_workers(op, p);
	return err;
}

int observed_proc__snapshot_memory(struct observed_proc *op, struct ts_process *p)
{
	int err;

	/* no window: tasks are as old as the snapshot says nothing about */
	op->attach_ns = ts_now_ns();
	op->nroot_marks = 0;
	snapshot_header(op, p);
	p->probe_mode = op->core ? "core" : "memory";
	p->core_path = op->core ? op->core->path : NULL;
	err = observed_proc__merge_memory(op, p);
	if (!err)
		err = observed_proc__add_roots(op, p);
	if (err)
		return err;
	count_worker_threads(op, p, op->worker_launch_tasks);
	worker_ns_tids(op, p);
	layout_into(op, p);
	return 0;
}
