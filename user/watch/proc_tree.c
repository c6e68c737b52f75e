// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A command's process tree and its progress, from /proc: see proc_tree.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_tree.h"

size_t proc_tree__descendants(const struct pid_parent *all, size_t n, pid_t root, pid_t *out,
			      size_t max)
{
	size_t count = 0, done = 0, i;
	bool present = false;

	for (i = 0; i < n; i++)
		if (all[i].pid == root)
			present = true;
	if (!present || !max)
		return 0;
	out[count++] = root;
	/* breadth first: each found process's children are appended once */
	while (done < count) {
		pid_t parent = out[done++];

		for (i = 0; i < n && count < max; i++)
			if (all[i].ppid == parent && all[i].pid != parent)
				out[count++] = all[i].pid;
	}
	return count;
}

/* The parent in /proc/PID/stat: after the comm's closing parenthesis, "S PPID". */
static int read_parent(const char *pid_dir, pid_t *ppid)
{
	char path[64], buf[512], *close;
	FILE *f;
	size_t got;
	char state;
	int pp;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid_dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	close = strrchr(buf, ')');	/* a comm may hold spaces and parentheses */
	if (!close || sscanf(close + 1, " %c %d", &state, &pp) != 2)
		return -EINVAL;
	*ppid = pp;
	return 0;
}

int proc_tree__read(struct pid_parent **out)
{
	struct pid_parent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		pid_t ppid;

		if (!isdigit((unsigned char)de->d_name[0]) || read_parent(de->d_name, &ppid))
			continue;	/* not a process, or gone meanwhile */
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 512;
			struct pid_parent *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n].pid = atoi(de->d_name);
		v[n].ppid = ppid;
		n++;
	}
	closedir(d);
	*out = v;
	return (int)n;
}

int proc_tree__runs(pid_t pid, uint64_t *runs)
{
	char path[64], sub[96];
	unsigned long long run_ns, wait_ns, slices;
	struct dirent *de;
	uint64_t sum = 0;
	int nthreads = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/schedstat", path, de->d_name);
		f = fopen(sub, "re");
		if (!f)
			continue;	/* the thread exited meanwhile */
		if (fscanf(f, "%llu %llu %llu", &run_ns, &wait_ns, &slices) == 3) {
			sum += slices;
			nthreads++;
		}
		fclose(f);
	}
	closedir(d);
	if (!nthreads)
		return -ENOENT;
	*runs = sum;
	return 0;
}

uint64_t progress__update(struct progress *pr, uint64_t runs, uint64_t now_ns)
{
	if (!pr->known || pr->runs != runs) {
		pr->known = true;
		pr->runs = runs;
		pr->last_change_ns = now_ns;
	}
	return now_ns >= pr->last_change_ns ? now_ns - pr->last_change_ns : 0;
}
