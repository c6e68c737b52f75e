/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Values of DWARF-described types in a live process: reading them, showing them. */
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_types.h"
#include "procfs.h"

#define WINDOW_MAX	(64u << 10)	/* larger futures are read piecewise */
#define TEXT_MAX	48		/* bytes of a string shown */

/* --- memory ------------------------------------------------------------- */

int mem_reader__window(struct mem_reader *mr, uint64_t addr, size_t len)
{
	ssize_t got;

	if (len > WINDOW_MAX)
		len = WINDOW_MAX;
	if (len > mr->cap) {
		uint8_t *nb = realloc(mr->buf, len);

		if (!nb)
			return -ENOMEM;
		mr->buf = nb;
		mr->cap = len;
	}
	mr->syscalls++;
	got = proc_read_mem(mr->pid, addr, mr->buf, len);
	if (got <= 0) {
		mr->len = 0;
		return got < 0 ? (int)got : -EFAULT;
	}
	mr->base = addr;
	mr->len = (size_t)got;
	return 0;
}

int mem_reader__read(struct mem_reader *mr, uint64_t addr, void *out, size_t len)
{
	ssize_t got;

	if (!len)
		return 0;
	if (mr->len && addr >= mr->base && addr + len >= addr && addr + len <= mr->base + mr->len) {
		memcpy(out, mr->buf + (addr - mr->base), len);
		return 0;
	}
	if (!addr)
		return -EFAULT;
	mr->syscalls++;
	got = proc_read_mem(mr->pid, addr, out, len);
	return got == (ssize_t)len ? 0 : -EFAULT;
}

int mem_reader__u64(struct mem_reader *mr, uint64_t addr, uint64_t *v)
{
	return mem_reader__read(mr, addr, v, 8);
}

void mem_reader__free(struct mem_reader *mr)
{
	free(mr->buf);
	mr->buf = NULL;
	mr->cap = mr->len = 0;
}

int dw_read_uint(struct mem_reader *mr, uint64_t addr, uint64_t size, uint64_t *v)
{
	uint8_t b[8] = {};
	int err;

	if (size == 0 || size > 8)
		return -EINVAL;
	err = mem_reader__read(mr, addr, b, size);
	if (err)
		return err;
	/* x86_64 and aarch64 targets are little endian */
	*v = 0;
	memcpy(v, b, size);
	return 0;
}

const struct dw_variant *dw_type__active_variant(const struct dw_type *t, struct mem_reader *mr,
						 uint64_t addr)
{
	const struct dw_variant *dflt = NULL;
	uint64_t d, mask;
	size_t i;

	if (!t || !t->has_variants || !t->nvariants)
		return NULL;
	if (!t->has_discr)
		return &t->variants[0];	/* a single-variant enum */
	if (dw_read_uint(mr, addr + t->discr_off, t->discr_size, &d))
		return NULL;
	mask = t->discr_size >= 8 ? ~0ULL : (1ULL << (8 * t->discr_size)) - 1;
	for (i = 0; i < t->nvariants; i++) {
		if (!t->variants[i].has_discr)
			dflt = &t->variants[i];
		else if ((t->variants[i].discr & mask) == (d & mask))
			return &t->variants[i];
	}
	return dflt;
}

/* --- formatting values ---------------------------------------------------- */

void dw_quote_text(const char *s, size_t n, bool more, char *buf, size_t len)
{
	size_t o = 0, i;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (i = 0; i < n && o + 6 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += snprintf(buf + o, len - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < n)
		more = true;
	/* don't leave half a UTF-8 sequence before the cut */
	if (more)
		while (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
	if (more && o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
		o--;
	buf[o++] = '"';
	if (more && o + 3 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static int format_text(struct mem_reader *mr, uint64_t ptr, uint64_t n, char *buf, size_t len)
{
	char text[TEXT_MAX];
	size_t take = n < TEXT_MAX ? (size_t)n : TEXT_MAX;

	if (n > (1ULL << 32))
		return -EFAULT;	/* not a length: a stale or torn value */
	if (take && mem_reader__read(mr, ptr, text, take))
		return -EFAULT;
	dw_quote_text(text, take, n > take, buf, len);
	return 0;
}

static int format_base(const struct dw_type *t, const uint8_t *b, char *buf, size_t len)
{
	uint64_t u = 0;
	int64_t s;

	if (t->size == 0 || t->size > 16)
		return -ENOTSUP;
	memcpy(&u, b, t->size > 8 ? 8 : t->size);
	switch (t->encoding) {
	case DW_ATE_boolean:
		snprintf(buf, len, "%s", u & 1 ? "true" : "false");
		return 0;
	case DW_ATE_unsigned:
	case DW_ATE_unsigned_char:
		if (t->size > 8)
			return -ENOTSUP;
		snprintf(buf, len, "%" PRIu64, u);
		return 0;
	case DW_ATE_signed:
	case DW_ATE_signed_char:
		if (t->size > 8)
			return -ENOTSUP;
		s = t->size == 8 ? (int64_t)u : (int64_t)(u << (64 - 8 * t->size)) >> (64 - 8 * t->size);
		snprintf(buf, len, "%" PRId64, s);
		return 0;
	case DW_ATE_UTF:
		if (u >= 0x20 && u < 0x7f)
			snprintf(buf, len, "'%c'", (char)u);
		else
			snprintf(buf, len, "U+%04" PRIX64, u);
		return 0;
	case DW_ATE_float:
		if (t->size == 4) {
			float f;

			memcpy(&f, b, 4);
			snprintf(buf, len, "%g", f);
		} else if (t->size == 8) {
			double d;

			memcpy(&d, b, 8);
			snprintf(buf, len, "%g", d);
		} else {
			return -ENOTSUP;
		}
		return 0;
	}
	return -ENOTSUP;
}

static bool name_starts(const char *qname, const char *prefix)
{
	return !strncmp(qname, prefix, strlen(prefix));
}

static int format_value(struct ts_dwarf *dw, struct mem_reader *mr, const struct dw_type *t,
			uint64_t addr, char *buf, size_t len, uint64_t *ptr_out, int depth);

/* A C-like enum by its enumerator's name. */
static int format_cenum(struct mem_reader *mr, const struct dw_type *t, uint64_t addr, char *buf,
			size_t len)
{
	uint64_t v, mask;
	size_t i;

	if (dw_read_uint(mr, addr, t->size, &v))
		return -EFAULT;
	mask = t->size >= 8 ? ~0ULL : (1ULL << (8 * t->size)) - 1;
	for (i = 0; i < t->nmembers; i++) {
		if ((t->members[i].off & mask) == v && t->members[i].name) {
			snprintf(buf, len, "%s", t->members[i].name);
			return 0;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
	return 0;
}

/*
 * A Rust enum (Option, Result, a user's enum) by its active variant:
 * "None", "Some(42)", "Ok(\"x\")"; a payload shown only when it is one
 * value this function can show.
 */
static int format_enum(struct ts_dwarf *dw, struct mem_reader *mr, const struct dw_type *t,
		       uint64_t addr, char *buf, size_t len, uint64_t *ptr_out, int depth)
{
	const struct dw_variant *v = dw_type__active_variant(t, mr, addr);
	const struct dw_type *vt;
	const struct dw_member *only = NULL;
	char inner[128];
	size_t i;

	if (!v || !v->name)
		return -EFAULT;
	vt = dw_type__get(dw, v->type);
	for (i = 0; vt && i < vt->nmembers; i++) {
		if (dw_type__is_zst(dw_type__get(dw, vt->members[i].type)))
			continue;
		if (only)
			break;
		only = &vt->members[i];
	}
	if (!only) {
		snprintf(buf, len, "%s", v->name);
		return 0;
	}
	if (vt && i < vt->nmembers)
		return -ENOTSUP;	/* several fields: not a value to print on one line */
	if (format_value(dw, mr, dw_type__get(dw, only->type), addr + v->off + only->off, inner,
			 sizeof(inner), ptr_out, depth + 1))
		return -ENOTSUP;
	snprintf(buf, len, "%s(%s)", v->name, inner);
	return 0;
}

int dw_format_value(struct ts_dwarf *dw, struct mem_reader *mr, const struct dw_type *t,
		    uint64_t addr, char *buf, size_t len, uint64_t *ptr_out)
{
	return format_value(dw, mr, t, addr, buf, len, ptr_out, 0);
}

static int format_value(struct ts_dwarf *dw, struct mem_reader *mr, const struct dw_type *t,
			uint64_t addr, char *buf, size_t len, uint64_t *ptr_out, int depth)
{
	const struct dw_type *pt, *lt;
	const char *qn;
	uint64_t off, loff, p, n;
	uint8_t b[16];

	if (!t || depth > 3)
		return -ENOTSUP;
	switch (t->kind) {
	case DW_K_CENUM:
		return format_cenum(mr, t, addr, buf, len);
	case DW_K_BASE:
		if (t->size > sizeof(b) || mem_reader__read(mr, addr, b, t->size))
			return -EFAULT;
		return format_base(t, b, buf, len);
	case DW_K_PTR:
		if (mem_reader__u64(mr, addr, &p))
			return -EFAULT;
		if (ptr_out)
			*ptr_out = p;
		snprintf(buf, len, "0x%" PRIx64, p);
		return 0;
	case DW_K_STRUCT:
		break;
	default:
		return -ENOTSUP;
	}
	if (t->coroutine)
		return -ENOTSUP;
	if (t->has_variants)
		return format_enum(dw, mr, t, addr, buf, len, ptr_out, depth);
	qn = dw_type__qname(dw, t);
	if (!strcmp(qn, "&str") || !strcmp(qn, "&mut str")) {
		const struct dw_member *dp = dw_type__member(t, "data_ptr");
		const struct dw_member *ln = dw_type__member(t, "length");

		if (!dp || !ln)
			return -ENOTSUP;
		if (mem_reader__u64(mr, addr + dp->off, &p) || mem_reader__u64(mr, addr + ln->off, &n))
			return -EFAULT;
		if (ptr_out)
			*ptr_out = p;
		return format_text(mr, p, n, buf, len);
	}
	if (!strcmp(qn, "alloc::string::String")) {
		/* String { vec: Vec<u8> { buf: RawVec.., len } }: layout moves between releases */
		if (dw_type__find_deep(dw, t, "len", 3, &loff, &lt) ||
		    dw_type__first_pointer(dw, t, 8, &off, &pt))
			return -ENOTSUP;
		if (mem_reader__u64(mr, addr + off, &p) || mem_reader__u64(mr, addr + loff, &n))
			return -EFAULT;
		if (ptr_out)
			*ptr_out = p;
		return format_text(mr, p, n, buf, len);
	}
	if (name_starts(qn, "alloc::sync::Arc<") || name_starts(qn, "alloc::rc::Rc<") ||
	    name_starts(qn, "alloc::boxed::Box<") || name_starts(qn, "core::ptr::non_null::NonNull<") ||
	    name_starts(qn, "core::ptr::unique::Unique<") || name_starts(qn, "core::pin::Pin<")) {
		const struct dw_type *inner;
		const struct dw_member *data;

		if (dw_type__first_pointer(dw, t, 6, &off, &pt))
			return -ENOTSUP;
		if (mem_reader__u64(mr, addr + off, &p))
			return -EFAULT;
		/* an Arc's pointer is to ArcInner { strong, weak, data }: show the data */
		inner = dw_type__get(dw, pt->target);
		if ((name_starts(qn, "alloc::sync::Arc<") || name_starts(qn, "alloc::rc::Rc<")) &&
		    inner && (data = dw_type__member(inner, "data")) != NULL && p)
			p += data->off;
		if (ptr_out)
			*ptr_out = p;
		snprintf(buf, len, "0x%" PRIx64, p);
		return 0;
	}
	return -ENOTSUP;
}
