// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Interned strings (intern.h): an open-addressing hash set of pointers to
 * strings allocated once. Written by hand: glib's GStringChunk would do,
 * but taskscope links no glib, and this is forty lines.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static const char **slots;	/* power of two, at most half full */
static size_t nslots, nused;

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int grow(void)
{
	size_t ncap = nslots ? nslots * 2 : 1024, i;
	const char **nv = calloc(ncap, sizeof(*nv));

	if (!nv)
		return -1;
	for (i = 0; i < nslots; i++) {
		size_t k;

		if (!slots[i])
			continue;
		for (k = hash(slots[i], strlen(slots[i])) & (ncap - 1); nv[k]; k = (k + 1) & (ncap - 1))
			;
		nv[k] = slots[i];
	}
	free(slots);
	slots = nv;
	nslots = ncap;
	return 0;
}

const char *ts_intern_n(const char *s, size_t n)
{
	const char *found = NULL;
	char *copy;
	size_t k;

	if (!s)
		return "";
	if (!n)
		return "";
	pthread_mutex_lock(&intern_lock);
	if ((nused + 1) * 2 > nslots && grow())
		goto out;
	for (k = hash(s, n) & (nslots - 1); slots[k]; k = (k + 1) & (nslots - 1)) {
		if (!strncmp(slots[k], s, n) && slots[k][n] == '\0') {
			found = slots[k];
			goto out;
		}
	}
	copy = malloc(n + 1);
	if (!copy)
		goto out;
	memcpy(copy, s, n);
	copy[n] = '\0';
	slots[k] = copy;
	nused++;
	found = copy;
out:
	pthread_mutex_unlock(&intern_lock);
	return found ? found : "";	/* out of memory: a name lost, not a crash */
}

const char *ts_intern(const char *s)
{
	return s ? ts_intern_n(s, strlen(s)) : "";
}

const char *ts_internf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ts_intern(buf);
}

size_t ts_intern_count(void)
{
	size_t n;

	pthread_mutex_lock(&intern_lock);
	n = nused;
	pthread_mutex_unlock(&intern_lock);
	return n;
}
