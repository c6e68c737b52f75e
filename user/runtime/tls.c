/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "demangle.h"
#include "dwarf_types.h"
#include "elf_symtab.h"
#include "tls.h"

#define CONTEXT_PATH	"tokio::runtime::context::CONTEXT"
#define FIND_DEPTH	10

int64_t tls_main_block_offset(uint64_t vaddr, uint64_t memsz, uint64_t align)
{
	uint64_t firstbyte, off;

	if (!align)
		align = 1;
	/*
	 * glibc's _dl_determine_tlsoffset for the first module (TLS_TCB_AT_TP):
	 * the block ends at the thread pointer, its start rounded so that
	 * vaddr's misalignment is kept. musl lays the main block out alike.
	 */
	firstbyte = (-vaddr) & (align - 1);
	off = ((memsz - firstbyte + align - 1) / align) * align + firstbyte;
	return -(int64_t)off;
}

/*
 * CONTEXT's thread-local storage: the biggest STT_TLS symbol defined here
 * whose demangled path is CONTEXT_PATH (its accessors are TLS symbols too).
 */
static int consider_context_symbol(void *ctx, const GElf_Sym *s, const char *nm)
{
	struct tls_context *tc = ctx;
	char dm[1024];

	if (GELF_ST_TYPE(s->st_info) != STT_TLS || s->st_shndx == SHN_UNDEF ||
	    !strstr(nm, "CONTEXT"))
		return 0;
	ts_demangle(nm, dm, sizeof(dm));
	if (!strstr(dm, CONTEXT_PATH) || s->st_size <= tc->sym_size)
		return 0;
	snprintf(tc->sym_name, sizeof(tc->sym_name), "%s", nm);
	tc->sym_value = s->st_value;
	tc->sym_size = s->st_size;
	return 0;
}

int tls_context__find(struct tls_context *tc, const char *elf_path)
{
	Elf *elf = NULL;
	size_t nphdrs, i;
	bool have_tls = false;
	int fd, err = -ENOENT;

	memset(tc, 0, sizeof(*tc));
	fd = open(elf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (elf_getphdrnum(elf, &nphdrs)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (i = 0; i < nphdrs; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_TLS) {
			tc->tls_vaddr = ph.p_vaddr;
			tc->tls_memsz = ph.p_memsz;
			tc->tls_align = ph.p_align;
			have_tls = true;
		}
	}
	if (!have_tls)
		goto cleanup;
	elf_symtab__each(elf, consider_context_symbol, tc);
	if (!tc->sym_size)
		goto cleanup;
	tc->sym_off = tls_main_block_offset(tc->tls_vaddr, tc->tls_memsz, tc->tls_align) +
		      (int64_t)tc->sym_value;
	err = 0;
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

/* The variable whose linkage name is name, in namespaces under scope. */
static bool find_variable(Dwarf_Die *scope, const char *name, Dwarf_Die *out, int depth)
{
	Dwarf_Die child;

	if (depth > 16 || dwarf_child(scope, &child) != 0)
		return false;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_variable) {
			Dwarf_Attribute a;
			const char *ln = dwarf_formstring(dwarf_attr(&child, DW_AT_linkage_name, &a));

			if (ln && !strcmp(ln, name)) {
				*out = child;
				return true;
			}
		} else if (tag == DW_TAG_namespace && find_variable(&child, name, out, depth + 1)) {
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/*
 * A member by name inside t, through members and the dataful variant of
 * enums (an older std keeps the value in an Option), never through
 * pointers. Offset relative to t.
 */
static int find_member(struct ts_dwarf *dw, const struct dw_type *t, const char *name, int depth,
		       uint64_t *off, const struct dw_type **mt)
{
	const struct dw_member *m;
	size_t i;

	if (!t || t->kind != DW_K_STRUCT || depth < 0)
		return -ENOENT;
	m = dw_type__member(t, name);
	if (m) {
		*off = m->off;
		*mt = dw_type__get(dw, m->type);
		return *mt ? 0 : -ENOENT;
	}
	for (i = 0; i < t->nmembers; i++) {
		uint64_t o;

		if (!find_member(dw, dw_type__get(dw, t->members[i].type), name, depth - 1, &o, mt)) {
			*off = t->members[i].off + o;
			return 0;
		}
	}
	for (i = 0; i < t->nvariants; i++) {
		uint64_t o;

		if (t->variants[i].name && !strcmp(t->variants[i].name, "Some") &&
		    !find_member(dw, dw_type__get(dw, t->variants[i].type), name, depth - 1, &o, mt)) {
			*off = t->variants[i].off + o;
			return 0;
		}
	}
	return -ENOENT;
}

/* Offset of the 8-byte integer at the start of t (Id(u64), Id(NonZeroU64)). */
static int leading_u64(struct ts_dwarf *dw, const struct dw_type *t, uint64_t *off, int depth)
{
	uint64_t o;

	if (!t || depth < 0)
		return -ENOENT;
	if (t->kind == DW_K_BASE)
		return t->size == 8 ? (*off = 0, 0) : -ENOENT;
	if (t->kind != DW_K_STRUCT || t->nmembers != 1 || t->has_variants)
		return -ENOENT;
	if (leading_u64(dw, dw_type__get(dw, t->members[0].type), &o, depth - 1))
		return -ENOENT;
	*off = t->members[0].off + o;
	return 0;
}

int tls_context__from_dwarf(struct tls_context *tc, struct ts_dwarf *dw)
{
	const struct dw_type *t, *opt;
	const struct dw_variant *none = NULL, *some = NULL;
	Dwarf_Off cu = 0, next;
	Dwarf_Die var, tdie;
	uint64_t field_off, o, id0;
	size_t hsize, i;
	bool found = false;

	if (!dw || !tc->sym_name[0])
		return -ENOENT;
	while (!found && dwarf_nextcu(dw->dbg, cu, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cudie;

		if (dwarf_offdie(dw->dbg, cu + hsize, &cudie))
			found = find_variable(&cudie, tc->sym_name, &var, 0);
		cu = next;
	}
	if (!found)
		return -ENOENT;
	{
		Dwarf_Attribute a;

		if (!dwarf_attr(&var, DW_AT_type, &a) || !dwarf_formref_die(&a, &tdie))
			return -ENOENT;
	}
	t = dw_type__get(dw, dwarf_dieoffset(&tdie));
	if (find_member(dw, t, "current_task_id", FIND_DEPTH, &field_off, &opt))
		return -ENOENT;
	/* Cell<Option<Id>> -> UnsafeCell -> Option: one-member wrappers */
	for (i = 0; opt && !opt->has_variants && i < 4; i++) {
		const struct dw_member *m = dw_type__member(opt, "value");

		if (!m)
			return -ENOENT;
		field_off += m->off;
		opt = dw_type__get(dw, m->type);
	}
	if (!opt || !opt->has_variants || !opt->has_discr)
		return -ENOENT;
	for (i = 0; i < opt->nvariants; i++) {
		if (opt->variants[i].name && !strcmp(opt->variants[i].name, "None"))
			none = &opt->variants[i];
		else if (opt->variants[i].name && !strcmp(opt->variants[i].name, "Some"))
			some = &opt->variants[i];
	}
	/* None must be named by its discriminant; Some may be the dataful default */
	if (!none || !some || !none->has_discr)
		return -ENOENT;
	t = dw_type__get(dw, some->type);
	if (!t || !dw_type__member(t, "__0"))
		return -ENOENT;
	o = dw_type__member(t, "__0")->off;
	if (leading_u64(dw, dw_type__get(dw, dw_type__member(t, "__0")->type), &id0, 4))
		return -ENOENT;
	if (opt->discr_off + opt->discr_size > 16 || some->off + o + id0 + 8 > 16 ||
	    !opt->discr_size || opt->discr_size > 8)
		return -ENOENT;
	tc->opt_off = (uint32_t)field_off;
	tc->tag_off = (uint32_t)opt->discr_off;
	tc->tag_size = (uint32_t)opt->discr_size;
	tc->tag_none = none->discr;
	tc->id_off = (uint32_t)(some->off + o + id0);
	tc->source = TLS_FIELD_DWARF;
	return 0;
}

int tls_context__known_layout(struct tls_context *tc, const char *tokio_version)
{
	/*
	 * tokio 1.24.2, rustc 1.95: CONTEXT is a lazy::Storage<Context, ()> of
	 * 104 bytes, Context.current_task_id at 0x20: an 8-byte tag (0 None,
	 * 1 Some) then the id (checked with DWARF and a 499 Hz bpftrace
	 * profile of a ping-pong). Another size means another layout.
	 */
	if (!tokio_version || strncmp(tokio_version, "1.24.", 5) || tc->sym_size != 104)
		return -ENOTSUP;
	tc->opt_off = 0x20;
	tc->tag_off = 0;
	tc->tag_size = 8;
	tc->tag_none = 0;
	tc->id_off = 8;
	tc->source = TLS_FIELD_KNOWN;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

#define CALIB_MIN_SAMPLES	20
#define CALIB_GIVE_UP		400
#define CALIB_DISTINCT		64

int tls_context__from_words(struct tls_context *tc, const struct ts_calib_sample *s, size_t n,
			    const uint64_t *ids, size_t nids)
{
	size_t i, valid = 0, best_distinct = 0, tie = 0;
	int k, best = -1, nwords = TS_CALIB_WORDS;

	for (i = 0; i < n; i++)
		valid += s[i].tid != 0;
	if (valid < CALIB_MIN_SAMPLES)
		return -EAGAIN;
	if ((uint64_t)nwords * 8 > tc->sym_size)
		nwords = (int)(tc->sym_size / 8);
	for (k = 0; k < nwords; k++) {
		uint64_t seen[CALIB_DISTINCT];
		size_t nz = 0, in_ids = 0, distinct = 0, d;

		for (i = 0; i < n; i++) {
			uint64_t w = s[i].words[k];

			if (!s[i].tid || !w)
				continue;
			nz++;
			if (!bsearch(&w, ids, nids, sizeof(*ids), cmp_u64))
				continue;
			in_ids++;
			for (d = 0; d < distinct && seen[d] != w; d++)
				;
			if (d == distinct && distinct < CALIB_DISTINCT)
				seen[distinct++] = w;
		}
		if (nz < CALIB_MIN_SAMPLES || in_ids * 10 < nz * 9 || distinct < 2)
			continue;
		if (distinct > best_distinct) {
			best = k;
			best_distinct = distinct;
			tie = 0;
		} else if (distinct == best_distinct) {
			tie++;
		}
	}
	if (best < 0 || tie)
		return valid >= CALIB_GIVE_UP ? -ENOENT : -EAGAIN;
	tc->opt_off = (uint32_t)best * 8;
	tc->tag_off = 0;
	tc->id_off = 0;
	if (best > 0) {
		bool tag = true;

		for (i = 0; i < n && tag; i++)
			if (s[i].tid && s[i].words[best - 1] > 1)
				tag = false;
		if (tag) {
			/* Option<u64>: the tag word (0 None, 1 Some) before the id */
			tc->opt_off = (uint32_t)(best - 1) * 8;
			tc->id_off = 8;
		}
	}
	/* without a tag word: a niche-encoded Option<NonZeroU64>, 0 is None */
	tc->tag_size = 8;
	tc->tag_none = 0;
	tc->source = TLS_FIELD_CALIBRATED;
	return 0;
}

void tls_context__layout(const struct tls_context *tc, struct ts_tls_layout *out)
{
	memset(out, 0, sizeof(*out));
	out->opt_off = tc->sym_off + (int64_t)tc->opt_off;
	out->tag_off = tc->tag_off;
	out->tag_size = tc->tag_size;
	out->tag_none = tc->tag_none;
	out->id_off = tc->id_off;
	out->sym_off = tc->sym_off;
}

const char *tls_field_source_name(enum tls_field_source s)
{
	switch (s) {
	case TLS_FIELD_DWARF:
		return "DWARF";
	case TLS_FIELD_KNOWN:
		return "tokio 1.24 layout";
	case TLS_FIELD_CALIBRATED:
		return "calibrated";
	case TLS_FIELD_UNKNOWN:
		break;
	}
	return "unknown";
}
