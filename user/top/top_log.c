/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "top_log.h"

static char *kept[TOP_LOG_KEEP];
static size_t total;
static FILE *log_file;
static bool libbpf_verbose;

void top_log_v(const char *fmt, va_list ap)
{
	char *s;
	size_t len;

	if (vasprintf(&s, fmt, ap) < 0)
		return;
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	if (!len) {
		free(s);
		return;
	}
	if (log_file) {
		fprintf(log_file, "%s\n", s);
		fflush(log_file);
	}
	free(kept[total % TOP_LOG_KEEP]);
	kept[total % TOP_LOG_KEEP] = s;
	total++;
}

void top_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	top_log_v(fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	top_log_v(fmt, ap);
	return 0;
}

void top_log__capture_libbpf(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

int top_log__set_file(const char *path)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	if (!path)
		return 0;
	log_file = fopen(path, "ae");
	return log_file ? 0 : -1;
}

size_t top_log__count(void)
{
	return total;
}

const char *top_log__last(void)
{
	return total ? kept[(total - 1) % TOP_LOG_KEEP] : "";
}

void top_log__dump(FILE *out)
{
	size_t i = total > TOP_LOG_KEEP ? total - TOP_LOG_KEEP : 0;

	if (total > TOP_LOG_KEEP)
		fprintf(out, "taskscope: (%zu earlier messages not kept)\n", total - TOP_LOG_KEEP);
	for (; i < total; i++)
		fprintf(out, "taskscope: %s\n", kept[i % TOP_LOG_KEEP]);
}

void top_log__free(void)
{
	size_t i;

	for (i = 0; i < TOP_LOG_KEEP; i++) {
		free(kept[i]);
		kept[i] = NULL;
	}
	total = 0;
	top_log__set_file(NULL);
}
