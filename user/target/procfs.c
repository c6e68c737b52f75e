/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core_file.h"
#include "procfs.h"

static struct core_file *core_src;

void proc_use_core(struct core_file *cf)
{
	core_src = cf;
}

/* The core file standing in for pid, if any. */
static struct core_file *core_of(pid_t pid)
{
	return core_src && core_src->pid == pid ? core_src : NULL;
}

bool proc_exists(pid_t pid)
{
	char path[64];

	if (pid <= 0)
		return false;
	if (core_of(pid))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return access(path, F_OK) == 0;
}

int proc_ns_pid(pid_t pid, pid_t *ns_pid)
{
	char path[64], line[256];
	FILE *f;
	int err = -ENOENT;

	*ns_pid = pid;
	if (core_of(pid))
		return 0;	/* a core keeps no namespace */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *last;

		if (strncmp(line, "NSpid:", 6))
			continue;
		/* one PID per nested namespace, outermost (ours) first */
		line[strcspn(line, "\n")] = '\0';
		last = strrchr(line, '\t');
		if (!last)
			last = strrchr(line, ' ');
		if (last && atoi(last + 1) > 0) {
			*ns_pid = atoi(last + 1);
			err = 0;
		}
		break;
	}
	fclose(f);
	return err;
}

/* The first line of a /proc file, without its newline. */
static int read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int proc_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	struct core_file *cf = core_of(pid);
	char path[64];

	if (cf) {
		/* a core names the process only */
		if (tid > 0 && tid != pid)
			return -ENOENT;
		snprintf(buf, len, "%s", cf->comm);
		return 0;
	}
	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	return read_first_line(path, buf, len);
}

int proc_thread_switches(pid_t pid, pid_t tid, uint64_t *switches)
{
	char path[64], line[256];
	unsigned long long v;
	uint64_t sum = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1) {
			sum += v;
			found++;
		}
	}
	fclose(f);
	if (found != 2)
		return -ENOENT;
	*switches = sum;
	return 0;
}

int proc_exe_path(pid_t pid, char *buf, size_t len)
{
	struct core_file *cf = core_of(pid);
	char path[64];
	ssize_t n;

	if (cf) {
		if (!cf->exe[0])
			return -ENOENT;
		snprintf(buf, len, "%s", cf->exe);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int core_maps(const struct core_file *cf, struct proc_maps *maps)
{
	size_t i;

	maps->v = calloc(cf->nsegs + 1, sizeof(*maps->v));
	if (!maps->v)
		return -ENOMEM;
	for (i = 0; i < cf->nsegs; i++) {
		const struct core_segment *s = &cf->segs[i];
		struct proc_mapping *m = &maps->v[i];

		m->start = s->vaddr;
		m->end = s->vaddr + s->memsz;
		m->offset = s->map_off;
		snprintf(m->perms, sizeof(m->perms), "%s", s->perms);
		if (s->file_idx >= 0)
			snprintf(m->path, sizeof(m->path), "%s", cf->files[s->file_idx].path);
	}
	maps->n = cf->nsegs;
	return 0;
}

int proc_maps__read(pid_t pid, struct proc_maps *maps)
{
	char path[64], line[4096];
	struct proc_mapping *v = NULL, *nv;
	size_t n = 0, cap = 0;
	FILE *f;

	maps->v = NULL;
	maps->n = 0;
	if (core_of(pid))
		return core_maps(core_of(pid), maps);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct proc_mapping m = {};
		unsigned long long start, end, off;
		char perms[5], file[4096] = "";
		int consumed = 0;

		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s%n", &start, &end,
			   perms, &off, &consumed) < 4)
			continue;
		if (sscanf(line + consumed, " %4095[^\n]", file) != 1)
			file[0] = '\0';
		m.start = start;
		m.end = end;
		m.offset = off;
		snprintf(m.perms, sizeof(m.perms), "%s", perms);
		snprintf(m.path, sizeof(m.path), "%s", file);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = m;
	}
	fclose(f);
	maps->v = v;
	maps->n = n;
	return 0;
}

void proc_maps__free(struct proc_maps *maps)
{
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}

int proc_maps__load_bias(const struct proc_maps *maps, const char *exe_path,
			 uint64_t elf_vaddr, uint64_t elf_offset, uint64_t *bias)
{
	size_t i;

	/*
	 * The mapping whose file range holds the segment's file offset gives
	 * the segment's runtime address: start + (elf_offset - map_offset).
	 */
	for (i = 0; i < maps->n; i++) {
		const struct proc_mapping *m = &maps->v[i];
		uint64_t len = m->end - m->start;

		if (strcmp(m->path, exe_path) != 0 || m->perms[2] != 'x')
			continue;
		if (elf_offset < m->offset || elf_offset >= m->offset + len)
			continue;
		*bias = m->start + (elf_offset - m->offset) - elf_vaddr;
		return 0;
	}
	return -ENOENT;
}

int proc_threads(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	struct dirent *de;
	struct core_file *cf = core_of(pid);
	DIR *d;
	int n = 0;

	if (cf) {
		for (; n < max && (size_t)n < cf->nthreads; n++)
			tids[n] = cf->threads[n].tid;
		return n;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		tids[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

/*
 * /proc/PID/stat from field 3 on: comm (field 2) may hold spaces and
 * parentheses, so the fields restart after the last ')'.
 */
static int read_stat_fields(pid_t pid, char *buf, size_t len, char **fields)
{
	char path[64], *p;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	err = read_first_line(path, buf, len);
	if (err)
		return err;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	*fields = p + 2;
	return 0;
}

int proc_state(pid_t pid, char *state)
{
	char buf[1024], *p;
	int err;

	if (core_of(pid)) {
		*state = 'S';	/* as it was dumped: not running any more */
		return 0;
	}
	err = read_stat_fields(pid, buf, sizeof(buf), &p);
	if (err)
		return err;
	*state = p[0];
	return 0;
}

/* Numeric field `field` (1-based, as proc(5) counts) of /proc/PID/stat. */
static int read_stat_u64(pid_t pid, int field, uint64_t *val)
{
	char buf[1024], *p;
	unsigned long long v;
	int i, err = read_stat_fields(pid, buf, sizeof(buf), &p);

	if (err)
		return err;
	for (i = 3; i < field && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return -EIO;
	*val = v;
	return 0;
}

int proc_start_ticks(pid_t pid, uint64_t *ticks)
{
	if (core_of(pid)) {
		*ticks = 0;
		return 0;
	}
	return read_stat_u64(pid, 22, ticks);
}

/* include/linux/sched.h: not in any uapi header */
#define TS_PF_KTHREAD	0x00200000

const char *proc_no_program(pid_t pid)
{
	uint64_t flags;
	char state;

	if (core_of(pid))
		return NULL;
	if (!read_stat_u64(pid, 9, &flags) && (flags & TS_PF_KTHREAD))
		return "is a kernel thread";
	if (!proc_state(pid, &state) && (state == 'Z' || state == 'X'))
		return "is a zombie (exited, not yet reaped by its parent)";
	return NULL;
}

int proc_identity(pid_t pid, struct proc_identity *id)
{
	char buf[1024], path[64], *p;
	unsigned long long v[2];
	int field, err;
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (core_of(pid)) {
		id->state = 'S';	/* a core never changes */
		return 0;
	}
	err = read_stat_fields(pid, buf, sizeof(buf), &p);
	if (err)
		return err;
	id->state = p[0];
	for (field = 3; field < 28 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
		if (p && field + 1 == 22 && sscanf(p, "%llu", &v[0]) != 1)
			return -EIO;
	}
	if (!p || sscanf(p, "%llu", &v[1]) != 1)
		return -EIO;
	id->start_ticks = v[0];
	id->start_stack = v[1];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (!stat(path, &st)) {
		id->exe_dev = st.st_dev;
		id->exe_ino = st.st_ino;
	}
	return 0;
}

ssize_t proc_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n;

	if (core_of(pid))
		return core_file__read(core_of(pid), addr, buf, len);
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return n;
}

int proc_read_u64(pid_t pid, uint64_t addr, uint64_t *val)
{
	ssize_t n = proc_read_mem(pid, addr, val, sizeof(*val));

	if (n < 0)
		return (int)n;
	return n == sizeof(*val) ? 0 : -EFAULT;
}
