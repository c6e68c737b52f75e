// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_writer.h"
#include "watch_out.h"

#define EVENTS_FILE	"events.jsonl"
#define REPORT_PREFIX	"stall-"

int watch_out__open(struct watch_out *wo, const char *dir, size_t max_reports,
		    uint64_t max_bytes, char *why, size_t whylen)
{
	struct stat st;

	memset(wo, 0, sizeof(*wo));
	snprintf(wo->dir, sizeof(wo->dir), "%s", dir);
	wo->max_reports = max_reports;
	wo->max_bytes = max_bytes;
	if (mkdir(dir, 0750) && errno != EEXIST) {
		snprintf(why, whylen, "can't create --out directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "--out %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK)) {
		snprintf(why, whylen, "can't write into --out directory %s: %s", dir,
			 strerror(errno));
		return -EACCES;
	}
	return 0;
}

/* A name safe in a file name: the command's letters, digits, '-', '_', '.'. */
static void file_safe(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'z') || (in[i] >= 'A' && in[i] <= 'Z') ||
			 (in[i] >= '0' && in[i] <= '9') || in[i] == '-' || in[i] == '_' ||
			 in[i] == '.' ? in[i] : '_';
	out[i] = '\0';
}

static int write_one(const char *path, const struct ts_process *p, const struct ts_finding *f,
		     size_t nf, const struct ts_report_opts *ro)
{
	char tmp[4200];
	FILE *out;
	int err = 0;

	/* written whole, then renamed: a reader (--exec) never sees half a report */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "we");
	if (!out)
		return -errno;
	ts_report_write(out, p, f, nf, ro);
	if (ferror(out))
		err = -EIO;
	if (fclose(out) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int watch_out__report(struct watch_out *wo, const struct ts_process *p,
		      const struct ts_finding *f, size_t nf, const struct ts_report_opts *ro,
		      const struct tracked_stall *s, const struct timespec *when, char *path,
		      size_t pathlen)
{
	struct ts_report_opts o = *ro;
	char stamp[32], comm[64], base[4200], json[4300];
	struct tm tm;
	int err;

	gmtime_r(&when->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	file_safe(p->comm, comm, sizeof(comm));
	/* sorted by name is sorted by time: the trim removes the first ones */
	snprintf(base, sizeof(base), "%s/" REPORT_PREFIX "%s.%03ldZ-%d-%s-%s", wo->dir, stamp,
		 when->tv_nsec / 1000000, (int)s->pid, comm, ts_finding_kind_name(s->kind));
	snprintf(path, pathlen, "%s.txt", base);
	snprintf(json, sizeof(json), "%s.json", base);
	o.json = false;
	err = write_one(path, p, f, nf, &o);
	o.json = true;
	if (!err)
		err = write_one(json, p, f, nf, &o);
	if (err)
		return err;
	wo->written++;
	return watch_out__trim(wo);
}

int watch_out__event(struct watch_out *wo, const struct stall_event *e, const char *comm,
		     const struct timespec *when, const char *path)
{
	char file[4200], old[4200], stamp[40];
	struct json_writer jw;
	struct stat st;
	struct tm tm;
	FILE *out;

	snprintf(file, sizeof(file), "%s/" EVENTS_FILE, wo->dir);
	/* the log takes at most a tenth of the budget, twice over */
	if (!stat(file, &st) && (uint64_t)st.st_size > wo->max_bytes / 20) {
		snprintf(old, sizeof(old), "%s.1", file);
		rename(file, old);
	}
	out = fopen(file, "ae");
	if (!out)
		return -errno;
	gmtime_r(&when->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ldZ",
		 when->tv_nsec / 1000000);
	jw_init(&jw, out);
	jw_object_begin(&jw);
	jw_kv_string(&jw, "time", stamp);
	jw_kv_string(&jw, "event", e->what == STALL_BEGAN ? "began" : "ended");
	jw_kv_i64(&jw, "pid", e->stall.pid);
	jw_kv_string(&jw, "comm", comm);
	jw_kv_string(&jw, "kind", ts_finding_kind_name(e->stall.kind));
	jw_kv_string(&jw, "task", e->stall.name);
	jw_kv_string(&jw, "key", e->stall.key);
	if (e->what == STALL_ENDED)
		jw_kv_double(&jw, "lasted_s", (double)(e->stall.last_ns - e->stall.first_ns) / 1e9,
			     3);
	if (path)
		jw_kv_string(&jw, "report", path);
	jw_object_end(&jw);
	jw_finish(&jw);	/* and its newline */
	return fclose(out) ? -errno : 0;
}

struct report_file {
	char name[256];
	uint64_t bytes;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct report_file *)a)->name, ((const struct report_file *)b)->name);
}

int watch_out__trim(struct watch_out *wo)
{
	struct report_file *v = NULL, *nv;
	size_t n = 0, cap = 0, i, nreports = 0;
	uint64_t total = 0;
	struct dirent *de;
	char path[4400];
	DIR *d;

	d = opendir(wo->dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, REPORT_PREFIX, strlen(REPORT_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", wo->dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		v[n].bytes = (uint64_t)st.st_size;
		total += v[n].bytes;
		if (strstr(de->d_name, ".txt"))
			nreports++;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_name);
	/* a report is its .json and .txt, adjacent once sorted: both go together */
	for (i = 0; i < n && (nreports > wo->max_reports || total > wo->max_bytes); i++) {
		size_t k, base = strcspn(v[i].name, ".");

		/* the stamp has a '.' (milliseconds): the base ends at the last one */
		base = strrchr(v[i].name, '.') ? (size_t)(strrchr(v[i].name, '.') - v[i].name) :
						  base;
		for (k = i; k < n && !strncmp(v[k].name, v[i].name, base) &&
			    (v[k].name[base] == '.' || !v[k].name[base]); k++) {
			snprintf(path, sizeof(path), "%s/%s", wo->dir, v[k].name);
			if (unlink(path))
				continue;
			total -= v[k].bytes;
			if (strstr(v[k].name, ".txt")) {
				nreports--;
				wo->removed++;
			}
		}
		i = k - 1;
	}
	free(v);
	return 0;
}
