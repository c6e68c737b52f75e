/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One streaming JSON writer for every JSON output (report, probes, await
 * chains, errors): values go to the FILE as they are made, commas and
 * string escaping are decided here and nowhere else.
 *
 * Why not a Debian library: libjansson and json-c build the document as a
 * tree in memory and serialise it at the end; `report --json` must stream
 * up to a million tasks without holding a second copy of them. What we
 * need is the bpftool json_writer shape: begin/end, key, scalar.
 *
 * Output is compact (no whitespace) and ends with a newline at jw_finish.
 * Misuse (a key outside an object, nesting past JW_MAX_DEPTH, unbalanced
 * ends) is recorded and reported by jw_finish, not written.
 */
#ifndef TS_JSON_WRITER_H
#define TS_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH	64

struct json_writer {
	FILE *out;
	unsigned int depth;
	uint64_t in_object;	/* bit d: level d is an object (else an array) */
	uint64_t has_member;	/* bit d: level d has a member: the next needs a comma */
	bool after_key;		/* a key was written, its value comes next */
	bool misuse;
};

void jw_init(struct json_writer *jw, FILE *out);
/* Newline after the top-level value, flush; -EIO on a write error, -EINVAL on misuse. */
int jw_finish(struct json_writer *jw);

void jw_object_begin(struct json_writer *jw);
void jw_object_end(struct json_writer *jw);
void jw_array_begin(struct json_writer *jw);
void jw_array_end(struct json_writer *jw);
void jw_key(struct json_writer *jw, const char *key);

/* Escaped: quote, backslash, control characters; invalid UTF-8 becomes U+FFFD. */
void jw_string(struct json_writer *jw, const char *s);
void jw_u64(struct json_writer *jw, uint64_t v);
void jw_i64(struct json_writer *jw, int64_t v);
/* Fixed decimals ("%.6f"); NaN and infinities, which JSON lacks, as null. */
void jw_double(struct json_writer *jw, double v, int decimals);
void jw_bool(struct json_writer *jw, bool v);
void jw_null(struct json_writer *jw);
/* An address, as the schema has them: the string "0x7f3a...". */
void jw_hex(struct json_writer *jw, uint64_t v);

/*
 * One complete JSON value another writer wrote to src (from its start), as
 * the next value here: taskscope record streams its snapshots to a
 * temporary file while the trace events stream to the output.
 */
void jw_value_copy(struct json_writer *jw, FILE *src);

/* key: value, the common case */
static inline void jw_kv_string(struct json_writer *jw, const char *k, const char *v)
{
	jw_key(jw, k);
	jw_string(jw, v);
}

static inline void jw_kv_u64(struct json_writer *jw, const char *k, uint64_t v)
{
	jw_key(jw, k);
	jw_u64(jw, v);
}

static inline void jw_kv_i64(struct json_writer *jw, const char *k, int64_t v)
{
	jw_key(jw, k);
	jw_i64(jw, v);
}

static inline void jw_kv_double(struct json_writer *jw, const char *k, double v, int decimals)
{
	jw_key(jw, k);
	jw_double(jw, v, decimals);
}

static inline void jw_kv_bool(struct json_writer *jw, const char *k, bool v)
{
	jw_key(jw, k);
	jw_bool(jw, v);
}

static inline void jw_kv_hex(struct json_writer *jw, const char *k, uint64_t v)
{
	jw_key(jw, k);
	jw_hex(jw, v);
}

#endif
