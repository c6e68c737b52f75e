// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "rec_snapshot.h"
#include "recorder.h"
#include "recording.h"

/* What the recorder writes before the section's first member (recorder.c). */
static const char section_open[] = "\"taskscope\":{\"version\":";

/* The whole file, NUL-terminated; NULL with why set. */
static char *read_file(const char *path, size_t *len, char *why, size_t whylen, int *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		snprintf(why, whylen, "can't read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*err = -EINVAL;
		snprintf(why, whylen, "%s is not a file", path);
		goto cleanup;
	}
	if ((uint64_t)st.st_size > REC_MAX_FILE_BYTES) {
		*err = -EFBIG;
		snprintf(why, whylen, "%s is over %llu GiB: not a recording this taskscope reads",
			 path, REC_MAX_FILE_BYTES >> 30);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		*err = -ENOMEM;
		snprintf(why, whylen, "out of memory reading %s", path);
		goto cleanup;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	*len = got;
cleanup:
	close(fd);
	return buf;
}

/* The last occurrence of the section's opening, or NULL. */
static const char *find_section(const char *buf, size_t len)
{
	const char *at = NULL, *p = buf, *hit;
	size_t left = len;

	while ((hit = memmem(p, left, section_open, sizeof(section_open) - 1))) {
		at = hit;
		left -= (size_t)(hit + 1 - p);
		p = hit + 1;
	}
	return at;
}

/* No section: say whether the file is JSON at all. */
static void explain_no_section(const char *path, const char *buf, size_t len, char *why,
			       size_t whylen)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;

	/* json-c holds a tree of it all: only for a file small enough to say more */
	tok = len < (64u << 20) ? json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH) : NULL;
	if (!tok) {
		snprintf(why, whylen, "%s is not a taskscope recording", path);
		return;
	}
	o = json_tokener_parse_ex(tok, buf, (int)(len < INT32_MAX ? len : INT32_MAX));
	jerr = json_tokener_get_error(tok);
	if (!o)
		snprintf(why, whylen, "%s is not JSON (%s)", path,
			 jerr == json_tokener_continue ? "it ends too soon" :
			 json_tokener_error_desc(jerr));
	else
		snprintf(why, whylen, "%s is JSON but not a taskscope recording "
			 "(no \"taskscope\" section: record it with taskscope record)", path);
	json_object_put(o);
	json_tokener_free(tok);
}

static uint64_t u64_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

static void string_member(struct json_object *o, const char *key, char *out, size_t len)
{
	struct json_object *v;

	out[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, len, "%s", json_object_get_string(v));
}

static int read_section(struct recording *rec, struct json_object *sec, const char *path,
			char *why, size_t whylen)
{
	struct json_object *v, *snaps;
	size_t i, n;
	int err;

	if (!json_object_object_get_ex(sec, "version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(why, whylen, "%s: the taskscope section has no version", path);
		return -EINVAL;
	}
	if (json_object_get_int64(v) != REC_FORMAT_VERSION) {
		snprintf(why, whylen, "%s is a version %lld recording; this taskscope reads "
			 "version %d", path, (long long)json_object_get_int64(v),
			 REC_FORMAT_VERSION);
		return -EINVAL;
	}
	rec->pid = (pid_t)u64_member(sec, "pid");
	string_member(sec, "comm", rec->comm, sizeof(rec->comm));
	string_member(sec, "exe", rec->exe, sizeof(rec->exe));
	rec->start_ns = u64_member(sec, "start_ns");
	rec->end_ns = u64_member(sec, "end_ns");
	rec->events = u64_member(sec, "events");
	rec->slices = u64_member(sec, "slices");
	rec->flows = u64_member(sec, "flows");
	rec->dropped = u64_member(sec, "dropped");
	if (json_object_object_get_ex(sec, "interval_s", &v))
		rec->interval_s = json_object_get_double(v);
	if (rec->end_ns < rec->start_ns)
		rec->end_ns = rec->start_ns;

	if (!json_object_object_get_ex(sec, "snapshots", &snaps) ||
	    !json_object_is_type(snaps, json_type_array)) {
		snprintf(why, whylen, "%s: the taskscope section has no snapshots", path);
		return -EINVAL;
	}
	n = json_object_array_length(snaps);
	if (!n) {
		snprintf(why, whylen, "%s holds no snapshot (the process exited before the first?)",
			 path);
		return -ENODATA;
	}
	if (n > REC_MAX_SNAPSHOTS) {
		snprintf(why, whylen, "%s holds %zu snapshots, more than the %d this reads", path,
			 n, REC_MAX_SNAPSHOTS);
		return -EFBIG;
	}
	rec->snaps = calloc(n, sizeof(*rec->snaps));
	rec->sampled = calloc(n, sizeof(*rec->sampled));
	if (!rec->snaps || !rec->sampled) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		char swhy[128];

		err = rec_snapshot__parse(json_object_array_get_idx(snaps, i), &rec->snaps[i],
					  &rec->sampled[i], swhy, sizeof(swhy));
		if (err) {
			snprintf(why, whylen, "%s: snapshot %zu: %s", path, i + 1, swhy);
			return err;
		}
		rec->nsnaps++;
	}
	return 0;
}

int recording__load(struct recording *rec, const char *path, char *why, size_t whylen)
{
	struct json_tokener *tok = NULL;
	struct json_object *sec = NULL;
	const char *at, *rest;
	size_t len = 0, off;
	char *buf;
	int err = 0;

	memset(rec, 0, sizeof(*rec));
	buf = read_file(path, &len, why, whylen, &err);
	if (!buf)
		return err;
	at = find_section(buf, len);
	if (!at) {
		explain_no_section(path, buf, len, why, whylen);
		err = -EINVAL;
		goto cleanup;
	}
	/* the object after the key; then only the document's closing brace may follow */
	off = (size_t)(at - buf) + strlen("\"taskscope\":");
	if (len - off > INT32_MAX) {
		snprintf(why, whylen, "%s: the taskscope section is over 2 GiB", path);
		err = -EFBIG;
		goto cleanup;
	}
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok) {
		err = -ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto cleanup;
	}
	sec = json_tokener_parse_ex(tok, buf + off, (int)(len - off));
	if (!sec || !json_object_is_type(sec, json_type_object)) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		snprintf(why, whylen, "%s: damaged taskscope section (%s)", path,
			 !sec && jerr == json_tokener_continue ? "the file ends too soon" :
			 !sec ? json_tokener_error_desc(jerr) : "not an object");
		err = -EINVAL;
		goto cleanup;
	}
	rest = buf + off + json_tokener_get_parse_end(tok);
	rest += strspn(rest, " \t\r\n");
	if (*rest != '}' || rest[1 + strspn(rest + 1, " \t\r\n")] != '\0') {
		snprintf(why, whylen, "%s: damaged recording (something follows the taskscope "
			 "section)", path);
		err = -EINVAL;
		goto cleanup;
	}
	err = read_section(rec, sec, path, why, whylen);
cleanup:
	json_object_put(sec);
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (err)
		recording__free(rec);
	return err;
}

void recording__free(struct recording *rec)
{
	size_t i;

	for (i = 0; i < rec->nsnaps; i++)
		ts_process__free(&rec->snaps[i]);
	free(rec->snaps);
	free(rec->sampled);
	rec->snaps = NULL;
	rec->sampled = NULL;
	rec->nsnaps = 0;
}

double recording__time_of(const struct recording *rec, size_t i)
{
	uint64_t ns;

	if (i >= rec->nsnaps)
		return 0;
	ns = rec->snaps[i].snapshot_ns;
	return ns > rec->start_ns ? (double)(ns - rec->start_ns) / 1e9 : 0;
}

size_t recording__index_at(const struct recording *rec, double seconds)
{
	size_t i, at = 0;

	for (i = 0; i < rec->nsnaps; i++)
		if (recording__time_of(rec, i) <= seconds + 1e-9)
			at = i;
	return at;
}

double recording__length(const struct recording *rec)
{
	return (double)(rec->end_ns - rec->start_ns) / 1e9;
}
