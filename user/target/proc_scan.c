/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_scan.h"
#include "runtime_binary.h"

static struct proc_scan_bin *find_bin(struct proc_scan *s, const struct stat *st)
{
	size_t i;

	for (i = 0; i < s->nbins; i++) {
		struct proc_scan_bin *b = &s->bins[i];

		if (b->dev == (uint64_t)st->st_dev && b->ino == (uint64_t)st->st_ino &&
		    b->size == (int64_t)st->st_size &&
		    b->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec)
			return b;
	}
	return NULL;
}

bool proc_scan__is_supported(struct proc_scan *s, pid_t pid)
{
	struct runtime_binary tb;
	struct proc_scan_bin *b;
	struct stat st;
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	/* stat follows the link into the process's own mount namespace */
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return false;	/* kernel thread, zombie, or gone */
	b = find_bin(s, &st);
	if (b)
		return b->tokio;
	if (s->nbins == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct proc_scan_bin *nv = realloc(s->bins, cap * sizeof(*nv));

		if (!nv)
			return false;
		s->bins = nv;
		s->cap = cap;
	}
	memset(&tb, 0, sizeof(tb));
	err = runtime_binary__load(&tb, path);
	s->binaries_read++;
	/* idempotent, and -ESRCH leaves what was read for the caller to free */
	runtime_binary__free(&tb);
	if (err && err != -ESRCH && err != -ENOEXEC)
		return false;	/* unreadable now (exited?): ask again next time */
	b = &s->bins[s->nbins++];
	b->dev = (uint64_t)st.st_dev;
	b->ino = (uint64_t)st.st_ino;
	b->size = (int64_t)st.st_size;
	b->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	b->tokio = !err;
	return b->tokio;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int proc_scan__tokio_pids(struct proc_scan *s, pid_t *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid();
	size_t n = 0;

	if (!d)
		return -errno;
	s->pids_seen = 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char *end;
		long pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		s->pids_seen++;
		if (proc_scan__is_supported(s, (pid_t)pid))
			pids[n++] = (pid_t)pid;
	}
	closedir(d);
	qsort(pids, n, sizeof(*pids), cmp_pid);
	return (int)n;
}

void proc_scan__free(struct proc_scan *s)
{
	free(s->bins);
	memset(s, 0, sizeof(*s));
}
