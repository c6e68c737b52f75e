/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "array.h"
#include "attach.h"
#include "taskscope.h"
#include "taskscope.skel.h"

/*
 * uprobe_multi (kernel >= 6.6) installs many probe sites with one link and
 * filters on the process in the kernel: other processes mapping the same
 * binary take no trap, and threads created later are covered, which a
 * per-thread perf_event uprobe is not.
 *
 * Debian 12's libbpf 1.1.2 predates it: no bpf_program__attach_uprobe_multi
 * and no uprobe_multi in bpf_link_create_opts (both libbpf 1.3), and its
 * headers lack BPF_TRACE_UPROBE_MULTI (Linux 6.6 UAPI). So this one
 * function makes the link with the raw bpf() syscall, from the kernel's
 * UAPI values below, and the programs are loaded with that attach type.
 *
 * Vendoring a current libbpf instead was tried (v1.7.0, Dec 2026): 50.7k
 * lines of C in src/ (66k with its UAPI headers, 2.2 MB), LGPL-2.1 OR
 * BSD-2-Clause like ours; a static build takes ~10 s on this 2-core VM, and
 * taskscope built against it runs unchanged with skeletons from Debian's
 * bpftool 7.1 (which also generates skeletons for SEC("uprobe.multi")).
 * It would replace these ~50 lines only: everything else we use, including
 * the perf_event attach sampled mode needs, is in 1.1. Kept the raw call.
 * Drop it for bpf_program__attach_uprobe_multi() (and SEC("uprobe.multi"),
 * which sets the attach type) once the build's libbpf is >= 1.3: Debian 13
 * ships 1.5, or when a vendored libbpf comes for another reason.
 */
#define TS_BPF_TRACE_UPROBE_MULTI	48
#define TS_BPF_F_UPROBE_MULTI_RETURN	1

struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
	uint32_t pad[9];	/* the rest of union bpf_attr stays zero */
};

/*
 * One link probing cnt sites of the file at path in process pid only; a
 * site's ref_ctr_offset (NULL: none) is a USDT semaphore the kernel counts
 * up while the link exists. The link's fd, or -errno.
 */
static int uprobe_multi_link(int prog_fd, pid_t pid, const char *path, const uint64_t *offsets,
			     const uint64_t *ref_ctr_offsets, const uint64_t *cookies, size_t cnt,
			     bool retprobe)
{
	struct link_create_uprobe_multi attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)prog_fd;
	attr.attach_type = TS_BPF_TRACE_UPROBE_MULTI;
	attr.path = (uint64_t)(uintptr_t)path;
	attr.offsets = (uint64_t)(uintptr_t)offsets;
	attr.ref_ctr_offsets = (uint64_t)(uintptr_t)ref_ctr_offsets;
	attr.cookies = (uint64_t)(uintptr_t)cookies;
	attr.cnt = (uint32_t)cnt;
	attr.um_flags = retprobe ? TS_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = (uint32_t)pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int verbose_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return vfprintf(stderr, fmt, args);
}

int ts_bpf__open_load(struct ts_bpf *b, bool verbose)
{
	return ts_bpf__open_load_record(b, verbose, 0, 0);
}

int ts_bpf__open_load_record(struct ts_bpf *b, bool verbose, pid_t rec_tgid, uint32_t ring_bytes)
{
	struct bpf_program *uprobes[6];
	size_t i;
	int err;

	memset(b, 0, sizeof(*b));
	libbpf_set_print(verbose ? verbose_print : quiet_print);
	b->skel = taskscope_bpf__open();
	if (!b->skel)
		return -errno ? -errno : -EINVAL;
	/* a ring is at least a page; an object that records nothing keeps just that */
	b->skel->rodata->rec_tgid = (uint32_t)rec_tgid;
	err = bpf_map__set_max_entries(b->skel->maps.rec_events,
				       rec_tgid ? ring_bytes : (uint32_t)getpagesize());
	if (err)
		goto cleanup;
	/* every runtime's layout: one BPF object serves every attached process */
	runtime_desc__bpf_layouts(b->skel->rodata->runtime_layouts, TS_MAX_RUNTIME_DESCS);
	uprobes[0] = b->skel->progs.task_poll;
	uprobes[1] = b->skel->progs.task_poll_ret;
	uprobes[2] = b->skel->progs.task_wake;
	uprobes[3] = b->skel->progs.task_dealloc;
	uprobes[4] = b->skel->progs.usdt_event;
	uprobes[5] = b->skel->progs.task_spawn;
	for (i = 0; i < ARRAY_SIZE(uprobes); i++) {
		/* uprobe_multi links need it at load (see uprobe_multi_link) */
		bpf_program__set_expected_attach_type(uprobes[i],
			(enum bpf_attach_type)TS_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_autoattach(uprobes[i], false);
	}
	err = taskscope_bpf__load(b->skel);
	if (err)
		goto cleanup;
	b->sched_link = bpf_program__attach(b->skel->progs.sched_switch);
	if (!b->sched_link) {
		err = -errno;
		goto cleanup;
	}
	return 0;
cleanup:
	ts_bpf__destroy(b);
	return err ? err : -EINVAL;
}

void ts_bpf__detach_sched(struct ts_bpf *b)
{
	bpf_link__destroy(b->sched_link);
	b->sched_link = NULL;
}

void ts_bpf__destroy(struct ts_bpf *b)
{
	ts_bpf__detach_sched(b);
	taskscope_bpf__destroy(b->skel);
	b->skel = NULL;
}

int ts_bpf__map_fd(const struct ts_bpf *b, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(b->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

uint64_t ts_bpf__counter(const struct ts_bpf *b, uint32_t which)
{
	int fd = ts_bpf__map_fd(b, "counters"), ncpu = libbpf_num_possible_cpus(), c;
	uint64_t *vals, sum = 0;

	if (fd < 0 || ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(fd, &which, vals))
		for (c = 0; c < ncpu; c++)
			sum += vals[c];
	free(vals);
	return sum;
}

void proc_links__detach(struct proc_links *links)
{
	int i;

	for (i = 0; i < links->nfds; i++)
		close(links->fds[i]);
	links->nfds = 0;
	links->nprobes = 0;
}

static int add_link(struct proc_links *links, int fd, size_t nsites)
{
	if (fd < 0)
		return fd;
	if (links->nfds >= (int)ARRAY_SIZE(links->fds)) {
		close(fd);
		return -E2BIG;
	}
	links->fds[links->nfds++] = fd;
	links->nprobes += nsites;
	return 0;
}

/*
 * usdt/taskscope.h sites: one uprobe_multi link for all of them, with the
 * kernel counting each probe's semaphore up (ref_ctr_offsets) so the
 * runtime sets up probe arguments only while we listen.
 */
static int attach_usdt(struct ts_bpf *b, pid_t pid, const char *path,
		       const struct runtime_binary *tb, struct proc_links *links)
{
	int map_fd = bpf_map__fd(b->skel->maps.usdt_sites), err = 0;
	uint32_t desc = runtime_desc__index(runtime_desc__first(TS_RT_USDT));
	uint64_t *offs, *refs, *cookies;
	size_t i, n = tb->nusdt;

	if (b->next_usdt_site + n > TS_MAX_USDT_SITES)
		return -E2BIG;
	offs = calloc(n, sizeof(*offs));
	refs = calloc(n, sizeof(*refs));
	cookies = calloc(n, sizeof(*cookies));
	if (!offs || !refs || !cookies) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint32_t slot = b->next_usdt_site + (uint32_t)i;

		if (bpf_map_update_elem(map_fd, &slot, &tb->usdt[i].spec, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		offs[i] = tb->usdt[i].pc_off;
		refs[i] = tb->usdt[i].sema ? tb->usdt[i].sema_off : 0;
		cookies[i] = TS_COOKIE(desc, slot);
	}
	b->next_usdt_site += (uint32_t)n;
	err = add_link(links, uprobe_multi_link(bpf_program__fd(b->skel->progs.usdt_event), pid,
						path, offs, refs, cookies, n, false), n);
out:
	free(offs);
	free(refs);
	free(cookies);
	return err;
}

int ts_bpf__attach_tokio(struct ts_bpf *b, pid_t pid, const struct runtime_binary *tb,
			 enum ts_probe_mode mode, struct proc_links *links)
{
	uint64_t *offs = NULL, *cookies = NULL;
	uint32_t desc = runtime_desc__index(tb->desc);
	char path[64];
	size_t i, n, npoll;
	int err;

	/* no vtable of the binary matched the descriptor: read no task Id through one */
	if (!tb->nvtables)
		desc |= TS_COOKIE_F_NO_TASK_ID;
	memset(links, 0, sizeof(*links));
	links->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = tb->npolls;
	if (tb->ndeallocs > n)
		n = tb->ndeallocs;
	if (tb->nwakes > n)
		n = tb->nwakes;
	if (tb->nspawn_sites > n)
		n = tb->nspawn_sites;
	offs = calloc(n ? n : 1, sizeof(*offs));
	cookies = calloc(n ? n : 1, sizeof(*cookies));
	if (!offs || !cookies) {
		err = -ENOMEM;
		goto cleanup;
	}

	/*
	 * The cookie names the runtime descriptor and the poll instance,
	 * which names the future type. Blocking-pool tasks are left out: a tokio worker
	 * itself runs inside one, so its poll would enclose every task poll.
	 */
	for (i = 0, npoll = 0; i < tb->npolls; i++) {
		if (tb->polls[i].blocking)
			continue;
		offs[npoll] = tb->polls[i].fn.file_off;
		cookies[npoll++] = TS_COOKIE(desc, i);
	}
	if (!npoll && !tb->nusdt) {
		err = -ESRCH;
		goto cleanup;
	}
	if (npoll) {
		err = add_link(links,
			       uprobe_multi_link(bpf_program__fd(b->skel->progs.task_poll), pid,
						 path, offs, NULL, cookies, npoll, false), npoll);
		if (err)
			goto cleanup;
	}
	if (tb->nusdt) {
		err = attach_usdt(b, pid, path, tb, links);
		if (err)
			goto cleanup;
	}
	if (mode == TS_MODE_FULL && npoll) {
		err = add_link(links,
			       uprobe_multi_link(bpf_program__fd(b->skel->progs.task_poll_ret), pid,
						 path, offs, NULL, cookies, npoll, true), npoll);
		if (err)
			goto cleanup;
	}

	for (i = 0; i < tb->nwakes; i++) {
		offs[i] = tb->wakes[i].file_off;
		cookies[i] = TS_COOKIE(desc, i);
	}
	if (tb->nwakes && mode != TS_MODE_LIGHT) {
		err = add_link(links, uprobe_multi_link(bpf_program__fd(b->skel->progs.task_wake), pid,
							path, offs, NULL, cookies, tb->nwakes,
							false), tb->nwakes);
		if (err)
			goto cleanup;
	}

	for (i = 0; i < tb->ndeallocs; i++) {
		offs[i] = tb->deallocs[i].file_off;
		cookies[i] = TS_COOKIE(desc, i);
	}
	if (tb->ndeallocs) {
		err = add_link(links, uprobe_multi_link(bpf_program__fd(b->skel->progs.task_dealloc),
							pid, path, offs, NULL, cookies,
							tb->ndeallocs, false), tb->ndeallocs);
		if (err)
			goto cleanup;
	}

	/* who spawns whom: one trap per spawn, none per poll */
	for (i = 0; i < tb->nspawn_sites; i++) {
		offs[i] = tb->spawn_sites[i].file_off;
		cookies[i] = TS_COOKIE(desc, tb->spawn_sites[i].reg);
	}
	if (tb->nspawn_sites) {
		err = add_link(links, uprobe_multi_link(bpf_program__fd(b->skel->progs.task_spawn),
							pid, path, offs, NULL, cookies,
							tb->nspawn_sites, false), tb->nspawn_sites);
		if (err)
			goto cleanup;
	}
cleanup:
	free(offs);
	free(cookies);
	if (err)
		proc_links__detach(links);
	return err;
}
