/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_writer.h"

void jw_init(struct json_writer *jw, FILE *out)
{
	memset(jw, 0, sizeof(*jw));
	jw->out = out;
}

int jw_finish(struct json_writer *jw)
{
	if (jw->depth || jw->after_key)
		jw->misuse = true;
	fputc('\n', jw->out);
	if (fflush(jw->out) || ferror(jw->out))
		return -EIO;
	return jw->misuse ? -EINVAL : 0;
}

/* Before any value: the comma, or nothing after a key; keys need an object. */
static bool value_prefix(struct json_writer *jw)
{
	uint64_t bit = 1ULL << jw->depth;

	if (jw->after_key) {
		jw->after_key = false;
		return true;
	}
	if (jw->depth && (jw->in_object & bit)) {
		jw->misuse = true;	/* a value in an object needs its key */
		return false;
	}
	if (jw->depth && (jw->has_member & bit))
		fputc(',', jw->out);
	jw->has_member |= bit;
	return true;
}

static void begin(struct json_writer *jw, char open, bool object)
{
	uint64_t bit;

	if (!value_prefix(jw))
		return;
	if (jw->depth + 1 >= JW_MAX_DEPTH) {
		jw->misuse = true;
		return;
	}
	fputc(open, jw->out);
	jw->depth++;
	bit = 1ULL << jw->depth;
	jw->has_member &= ~bit;
	if (object)
		jw->in_object |= bit;
	else
		jw->in_object &= ~bit;
}

static void end(struct json_writer *jw, char close, bool object)
{
	uint64_t bit = 1ULL << jw->depth;

	if (!jw->depth || jw->after_key || !(jw->in_object & bit) != !object) {
		jw->misuse = true;
		return;
	}
	fputc(close, jw->out);
	jw->depth--;
}

void jw_object_begin(struct json_writer *jw)
{
	begin(jw, '{', true);
}

void jw_object_end(struct json_writer *jw)
{
	end(jw, '}', true);
}

void jw_array_begin(struct json_writer *jw)
{
	begin(jw, '[', false);
}

void jw_array_end(struct json_writer *jw)
{
	end(jw, ']', false);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

static void write_escaped(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	size_t n;

	fputc('"', out);
	while (*s) {
		if (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\') {
			s++;
			continue;
		}
		/* bytes that need no escape go out as one run */
		if (s > run)
			fwrite(run, 1, (size_t)(s - run), out);
		if (*s == '"' || *s == '\\') {
			fputc('\\', out);
			fputc(*s, out);
			n = 1;
		} else if (*s == '\n') {
			fputs("\\n", out);
			n = 1;
		} else if (*s == '\t') {
			fputs("\\t", out);
			n = 1;
		} else if (*s < 0x20) {
			fprintf(out, "\\u%04x", *s);
			n = 1;
		} else if ((n = utf8_seq(s))) {
			fwrite(s, 1, n, out);
		} else {
			/* a comm or a symbol is bytes, JSON is UTF-8 */
			fputs("\\ufffd", out);
			n = 1;
		}
		s += n;
		run = s;
	}
	if (s > run)
		fwrite(run, 1, (size_t)(s - run), out);
	fputc('"', out);
}

void jw_key(struct json_writer *jw, const char *key)
{
	uint64_t bit = 1ULL << jw->depth;

	if (!jw->depth || !(jw->in_object & bit) || jw->after_key) {
		jw->misuse = true;
		return;
	}
	if (jw->has_member & bit)
		fputc(',', jw->out);
	jw->has_member |= bit;
	write_escaped(jw->out, key);
	fputc(':', jw->out);
	jw->after_key = true;
}

void jw_string(struct json_writer *jw, const char *s)
{
	if (value_prefix(jw))
		write_escaped(jw->out, s ? s : "");
}

void jw_u64(struct json_writer *jw, uint64_t v)
{
	if (value_prefix(jw))
		fprintf(jw->out, "%" PRIu64, v);
}

void jw_i64(struct json_writer *jw, int64_t v)
{
	if (value_prefix(jw))
		fprintf(jw->out, "%" PRId64, v);
}

void jw_double(struct json_writer *jw, double v, int decimals)
{
	if (!value_prefix(jw))
		return;
	if (isfinite(v))
		fprintf(jw->out, "%.*f", decimals, v);
	else
		fputs("null", jw->out);
}

void jw_bool(struct json_writer *jw, bool v)
{
	if (value_prefix(jw))
		fputs(v ? "true" : "false", jw->out);
}

void jw_null(struct json_writer *jw)
{
	if (value_prefix(jw))
		fputs("null", jw->out);
}

void jw_hex(struct json_writer *jw, uint64_t v)
{
	if (value_prefix(jw))
		fprintf(jw->out, "\"0x%" PRIx64 "\"", v);
}

void jw_value_copy(struct json_writer *jw, FILE *src)
{
	char buf[65536];
	size_t n;

	if (!value_prefix(jw))
		return;
	rewind(src);
	while ((n = fread(buf, 1, sizeof(buf), src)) > 0) {
		/* the value's own trailing newline (jw_finish) is whitespace: harmless */
		if (fwrite(buf, 1, n, jw->out) != n)
			break;
	}
	if (ferror(src))
		jw->misuse = true;
}
