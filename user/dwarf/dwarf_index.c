/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "dwarf_index.h"
#include "elf_symtab.h"
#include "dwarf_types.h"

#define INDEX_MAX_DEPTH 64

static bool elf_has_debug_info(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return true;
	}
	return false;
}

static ssize_t elf_build_id(Elf *elf, const uint8_t **id)
{
	const void *p = NULL;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &p);

	*id = p;
	return n;
}

/*
 * Opens path as a DWARF source for a binary with the given build id
 * (NULL: any). A separate debug file of another build would give wrong
 * offsets, so a build-id mismatch rejects it.
 */
static int try_dwarf_file(struct ts_dwarf *dw, const char *path, const uint8_t *want_id,
			  ssize_t want_len)
{
	const uint8_t *id;
	ssize_t n;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto fail;
	if (!elf_has_debug_info(elf))
		goto fail;
	if (want_id && want_len > 0) {
		n = elf_build_id(elf, &id);
		if (n > 0 && (n != want_len || memcmp(id, want_id, n)))
			goto fail;
	}
	dw->dbg = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dw->dbg)
		goto fail;
	dw->fd = fd;
	dw->elf = elf;
	snprintf(dw->dwarf_path, sizeof(dw->dwarf_path), "%s", path);
	return 0;
fail:
	if (elf)
		elf_end(elf);
	close(fd);
	return -ENODATA;
}

static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/*
 * For /proc/PID/exe: the binary's path as the process sees it, and the
 * root to read it through (/proc/PID/root, for a process in a container).
 * Otherwise the path itself and no root.
 */
static void binary_location(const char *elf_path, char *real, size_t rlen, char *root, size_t rootlen)
{
	char link[4096];
	ssize_t n;
	int pid, end = 0;

	root[0] = '\0';
	snprintf(real, rlen, "%s", elf_path);
	if (sscanf(elf_path, "/proc/%d/exe%n", &pid, &end) != 1 || elf_path[end])
		return;
	n = readlink(elf_path, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	/* an exe replaced on disk since it started reads "path (deleted)" */
	if (n > 10 && !strcmp(link + n - 10, " (deleted)"))
		link[n - 10] = '\0';
	snprintf(real, rlen, "%s", link);
	snprintf(root, rootlen, "/proc/%d/root", pid);
}

/*
 * The places gdb and elfutils look for separate debuginfo: the
 * .gnu_debuglink name next to the binary, in .debug/ there, and under
 * /usr/lib/debug + the binary's directory; then /usr/lib/debug/.build-id.
 * Each through the process's root first, then ours.
 */
static int find_separate(struct ts_dwarf *dw, Elf *elf, char *tried, size_t triedlen)
{
	const uint8_t *id = NULL;
	ssize_t idlen = elf_build_id(elf, &id);
	const char *link, *roots[2];
	char real[4096], root[64], dir[4096], path[8192], bid[256];
	GElf_Word crc;
	int nroots = 0, r;
	ssize_t i;
	size_t o;

	tried[0] = '\0';
	binary_location(dw->elf_path, real, sizeof(real), root, sizeof(root));
	if (root[0])
		roots[nroots++] = root;
	roots[nroots++] = "";
	dir_of(real, dir, sizeof(dir));
	link = dwelf_elf_gnu_debuglink(elf, &crc);
	if (link && link[0]) {
		const char *fmt[] = { "%s%s/%s", "%s%s/.debug/%s", "%s/usr/lib/debug%s/%s" };
		size_t k;

		for (r = 0; r < nroots; r++) {
			for (k = 0; k < ARRAY_SIZE(fmt); k++) {
				if ((k == 2 || roots[r][0]) && dir[0] != '/')
					continue;
				snprintf(path, sizeof(path), fmt[k], roots[r], dir, link);
				if (!try_dwarf_file(dw, path, id, idlen))
					return 0;
			}
		}
		snprintf(tried, triedlen, "its .gnu_debuglink %s is not next to it or under /usr/lib/debug",
			 link);
	}
	if (idlen >= 2) {
		o = snprintf(bid, sizeof(bid), "/usr/lib/debug/.build-id/%02x/", id[0]);
		for (i = 1; i < idlen && o + 3 < sizeof(bid); i++)
			o += snprintf(bid + o, sizeof(bid) - o, "%02x", id[i]);
		snprintf(bid + o, sizeof(bid) - o, ".debug");
		for (r = 0; r < nroots; r++) {
			snprintf(path, sizeof(path), "%s%s", roots[r], bid);
			if (!try_dwarf_file(dw, path, id, idlen))
				return 0;
		}
		if (!tried[0])
			snprintf(tried, triedlen, "nothing at %s", bid);
	}
	return -ENODATA;
}

static int is_tokio_poll(void *ctx, const GElf_Sym *sym, const char *name)
{
	/* legacy and v0 manglings both spell the path this way */
	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_value ||
	    !strstr(name, "5tokio7runtime4task3raw4poll"))
		return 0;
	*(uint64_t *)ctx = sym->st_value;
	return 1;
}

/* 1 when the symbol table names a tokio raw::poll instance; its vaddr in *pc. */
static int first_tokio_poll(Elf *elf, uint64_t *pc)
{
	return elf_symtab__each(elf, is_tokio_poll, pc);
}

static bool has_template_param(Dwarf_Die *fn)
{
	Dwarf_Die child, spec;
	Dwarf_Attribute a;

	if (dwarf_child(fn, &child) == 0) {
		do {
			if (dwarf_tag(&child) == DW_TAG_template_type_parameter)
				return true;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if ((dwarf_attr(fn, DW_AT_specification, &a) || dwarf_attr(fn, DW_AT_abstract_origin, &a)) &&
	    dwarf_formref_die(&a, &spec))
		return has_template_param(&spec);
	return false;
}

/*
 * Split DWARF (rustc split-debuginfo = "packed" or "unpacked"): the file
 * holds skeleton units whose DW_AT_dwo_name (DWARF 5) or
 * DW_AT_GNU_dwo_name (rustc's DWARF 4) names the .dwo holding the types.
 * Copies the first dwo name; false when the units are whole.
 */
static bool split_dwarf_name(Dwarf *dbg, char *dwo, size_t len)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		Dwarf_Attribute a;
		const char *name;

		if (dwarf_offdie(dbg, off + hsize, &cu) &&
		    (dwarf_attr(&cu, DW_AT_dwo_name, &a) || dwarf_attr(&cu, DW_AT_GNU_dwo_name, &a)) &&
		    (name = dwarf_formstring(&a))) {
			snprintf(dwo, len, "%s", name);
			return true;
		}
		off = next;
	}
	return false;
}

/*
 * Why split DWARF gave no task types. elfutils reads .dwo files (0.171+)
 * but .dwp packages only from 0.191; Debian 12 has 0.188, and cargo's
 * split-debuginfo = "packed" leaves only the .dwp (the .dwo files are
 * deleted once packed).
 */
static void split_dwarf_why(const struct ts_dwarf *dw, const char *dwo, char *why, size_t whylen)
{
	char real[4096], root[64], dwp[4200];

	binary_location(dw->elf_path, real, sizeof(real), root, sizeof(root));
	snprintf(dwp, sizeof(dwp), "%s%s.dwp", root, real);
	if (!access(dwp, R_OK))
		snprintf(why, whylen,
			 "DWARF of %s is split into %s.dwp (split-debuginfo = \"packed\"), which "
			 "this libdw (elfutils < 0.191) cannot read: build with split-debuginfo = "
			 "\"off\" (Linux's default), or pass --debuginfo FILE", real, real);
	else
		snprintf(why, whylen,
			 "DWARF of %s is split (split-debuginfo) and its %s is not there: build "
			 "with split-debuginfo = \"off\", or pass --debuginfo FILE", real, dwo);
}

int dw_index__open(struct ts_dwarf *dw, const char *elf_path, const char *debuginfo_path,
		   char *why, size_t whylen)
{
	char tried[4400] = "";
	Elf *elf = NULL;
	uint64_t pc;
	int fd, err;

	dw->fd = -1;
	snprintf(dw->elf_path, sizeof(dw->elf_path), "%s", elf_path);
	elf_version(EV_CURRENT);
	if (debuginfo_path) {
		err = try_dwarf_file(dw, debuginfo_path, NULL, 0);
		if (err) {
			snprintf(why, whylen, "no DWARF in %s: give a debug file of this build of %s",
				 debuginfo_path, elf_path);
			return -ENODATA;
		}
	}
	fd = open(elf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, whylen, "can't open %s: %s", elf_path, strerror(errno));
		goto cleanup;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		snprintf(why, whylen, "%s is not an ELF file", elf_path);
		goto cleanup;
	}
	if (!dw->dbg && elf_has_debug_info(elf))
		try_dwarf_file(dw, elf_path, NULL, 0);
	if (!dw->dbg && find_separate(dw, elf, tried, sizeof(tried))) {
		char real[4096], root[64];

		binary_location(elf_path, real, sizeof(real), root, sizeof(root));
		elf_path = real;
		err = -ENODATA;
		if (tried[0])
			snprintf(why, whylen, "no DWARF in %s (%s): build with debug = true, or pass --debuginfo FILE",
				 elf_path, tried);
		else
			snprintf(why, whylen, "no DWARF in %s: build with debug = true, or pass --debuginfo FILE",
				 elf_path);
		goto cleanup;
	}
	/*
	 * DWARF of std alone (debug = false, with a std built with
	 * debuginfo) or line tables only (debug = "limited" /
	 * "line-tables-only") has no task types: say so now, not per task.
	 */
	if (first_tokio_poll(elf, &pc)) {
		Dwarf_Die fn;

		if (dw_index__func_at(dw, pc, &fn) || !has_template_param(&fn)) {
			char dwo[4096];

			err = -ENODATA;
			if (split_dwarf_name(dw->dbg, dwo, sizeof(dwo))) {
				split_dwarf_why(dw, dwo, why, whylen);
				goto cleanup;
			}
			snprintf(why, whylen,
				 "DWARF in %s has no types for tokio's tasks (debug = \"limited\" or \"line-tables-only\"?): build with debug = true, or pass --debuginfo FILE",
				 dw->dwarf_path);
			goto cleanup;
		}
	}
	err = 0;
cleanup:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return err;
}

void dw_index__close(struct ts_dwarf *dw)
{
	size_t i;

	for (i = 0; i < dw->ncus; i++) {
		free(dw->cus[i].scopes);
		free(dw->cus[i].funcs);
	}
	free(dw->cus);
	dw->cus = NULL;
	dw->ncus = dw->cap_cus = 0;
	for (i = 0; i < dw->nnamed; i++)
		free(dw->named[i].name);
	free(dw->named);
	dw->named = NULL;
	dw->nnamed = dw->cap_named = 0;
	if (dw->dbg)
		dwarf_end(dw->dbg);
	dw->dbg = NULL;
	if (dw->elf)
		elf_end(dw->elf);
	dw->elf = NULL;
	if (dw->fd >= 0)
		close(dw->fd);
	dw->fd = -1;
}

/* --- per compile unit index ------------------------------------------------ */

static struct cu_index *cu_slot(struct ts_dwarf *dw, Dwarf_Off cu_off)
{
	size_t lo = TS_LOWER_BOUND(dw->cus, dw->ncus, cu_off, cu_off);
	struct cu_index *nv;

	if (lo < dw->ncus && dw->cus[lo].cu_off == cu_off)
		return &dw->cus[lo];
	if (ts_array_reserve(&dw->cus, &dw->cap_cus, dw->ncus + 1))
		return NULL;
	nv = dw->cus;
	memmove(&nv[lo + 1], &nv[lo], (dw->ncus - lo) * sizeof(*nv));
	memset(&nv[lo], 0, sizeof(*nv));
	nv[lo].cu_off = cu_off;
	dw->ncus++;
	return &nv[lo];
}

static int push_scope(struct cu_index *ci, const struct dw_scope *s)
{
	struct dw_scope *ns = ts_array_add(&ci->scopes, &ci->nscopes, &ci->cap_scopes);

	if (!ns)
		return -ENOMEM;
	*ns = *s;
	return 0;
}

static int push_func(struct cu_index *ci, uint64_t pc, Dwarf_Off off)
{
	struct dw_func *nf = ts_array_add(&ci->funcs, &ci->nfuncs, &ci->cap_funcs);

	if (!nf)
		return -ENOMEM;
	nf->low_pc = pc;
	nf->off = off;
	return 0;
}

static int cmp_func(const void *a, const void *b)
{
	const struct dw_func *x = a, *y = b;

	return (x->low_pc > y->low_pc) - (x->low_pc < y->low_pc);
}

/*
 * Walks the CU's namespaces and types but not into function bodies or
 * variant parts: rustc puts no named scope there, and bodies (locations,
 * inlined calls) are most of the bytes.
 */
static bool descend_into(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_structure_type ||
	       tag == DW_TAG_union_type || tag == DW_TAG_class_type;
}

static int cu_build(struct ts_dwarf *dw, struct cu_index *ci, Dwarf_Die *cudie)
{
	Dwarf_Die die[INDEX_MAX_DEPTH];
	int scope_at[INDEX_MAX_DEPTH];	/* scope index of the DIE at each level, or -1 */
	int nearest[INDEX_MAX_DEPTH];	/* innermost open scope at or above each level */
	int *pending = NULL;		/* closed scopes waiting for their end offset */
	size_t npending = 0, cappending = 0, i;
	int lvl = 0, err = 0;

	if (dwarf_child(cudie, &die[0]) != 0)
		goto done;
	for (;;) {
		Dwarf_Off off = dwarf_dieoffset(&die[lvl]);
		int tag = dwarf_tag(&die[lvl]);
		int parent = lvl ? nearest[lvl - 1] : -1;
		Dwarf_Addr pc;

		dw->dies_visited++;
		for (i = 0; i < npending; i++)
			ci->scopes[pending[i]].end = off;
		npending = 0;
		scope_at[lvl] = -1;
		if (descend_into(tag) || tag == DW_TAG_enumeration_type) {
			struct dw_scope s = {
				.off = off, .end = UINT64_MAX, .parent = parent, .tag = tag,
				.name = dwarf_diename(&die[lvl]),
			};

			if (s.name) {
				err = push_scope(ci, &s);
				if (err)
					goto done;
				scope_at[lvl] = (int)ci->nscopes - 1;
			}
		} else if (tag == DW_TAG_subprogram && dwarf_lowpc(&die[lvl], &pc) == 0) {
			err = push_func(ci, pc, off);
			if (err)
				goto done;
		}
		nearest[lvl] = scope_at[lvl] >= 0 ? scope_at[lvl] : parent;
		if (descend_into(tag) && lvl + 1 < INDEX_MAX_DEPTH &&
		    dwarf_child(&die[lvl], &die[lvl + 1]) == 0) {
			lvl++;
			continue;
		}
		for (;;) {
			Dwarf_Die next;

			if (scope_at[lvl] >= 0) {
				if (ts_array_reserve(&pending, &cappending, npending + 1)) {
					err = -ENOMEM;
					goto done;
				}
				pending[npending++] = scope_at[lvl];
			}
			if (dwarf_siblingof(&die[lvl], &next) == 0) {
				die[lvl] = next;
				break;
			}
			if (lvl == 0)
				goto done;
			lvl--;
		}
	}
done:
	free(pending);
	if (ci->nfuncs)
		qsort(ci->funcs, ci->nfuncs, sizeof(*ci->funcs), cmp_func);
	ci->built = true;
	dw->cus_indexed++;
	return err;
}

static struct cu_index *cu_of(struct ts_dwarf *dw, Dwarf_Die *cudie)
{
	struct cu_index *ci = cu_slot(dw, dwarf_dieoffset(cudie));

	if (ci && !ci->built && cu_build(dw, ci, cudie))
		return NULL;
	return ci;
}

/* The CU holding pc: .debug_aranges first, then each CU's ranges. */
static int cu_for_pc(struct ts_dwarf *dw, uint64_t pc, Dwarf_Die *cudie)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw->dbg, pc, cudie))
		return 0;
	while (dwarf_nextcu(dw->dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Addr base, start, end;
		ptrdiff_t r = 0;

		if (dwarf_offdie(dw->dbg, off + hsize, cudie)) {
			while ((r = dwarf_ranges(cudie, r, &base, &start, &end)) > 0)
				if (pc >= start && pc < end)
					return 0;
		}
		off = next;
	}
	return -ENOENT;
}

int dw_index__func_at(struct ts_dwarf *dw, uint64_t pc, Dwarf_Die *out)
{
	struct cu_index *ci;
	Dwarf_Die cudie;
	size_t lo;

	if (cu_for_pc(dw, pc, &cudie))
		return -ENOENT;
	ci = cu_of(dw, &cudie);
	if (!ci)
		return -ENOMEM;
	lo = TS_LOWER_BOUND(ci->funcs, ci->nfuncs, low_pc, pc);
	if (lo >= ci->nfuncs || ci->funcs[lo].low_pc != pc)
		return -ENOENT;
	return dwarf_offdie(dw->dbg, ci->funcs[lo].off, out) ? 0 : -ENOENT;
}

/* Index of the innermost scope strictly enclosing off, or -1. */
static int enclosing_scope(const struct cu_index *ci, Dwarf_Off off)
{
	size_t lo = TS_LOWER_BOUND(ci->scopes, ci->nscopes, off, off);
	int k;

	/* lo: first scope at or after off; the candidates start before it */
	k = (int)lo - 1;
	while (k >= 0 && !(ci->scopes[k].off < off && off < ci->scopes[k].end))
		k = ci->scopes[k].parent;
	return k;
}

static int append(char *buf, size_t len, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + n + 1 > len)
		return -ENOSPC;
	memcpy(buf + *o, s, n + 1);
	*o += n;
	return 0;
}

int dw_index__qualified_name(struct ts_dwarf *dw, Dwarf_Off off, char *buf, size_t len)
{
	const char *chain[INDEX_MAX_DEPTH];
	struct cu_index *ci;
	Dwarf_Die die, cudie;
	const char *name;
	int n = 0, k;
	size_t o = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!dwarf_offdie(dw->dbg, off, &die))
		return -ENOENT;
	name = dwarf_diename(&die);
	if (!name)
		return -ENOENT;
	if (!dwarf_diecu(&die, &cudie, NULL, NULL))
		return -ENOENT;
	ci = cu_of(dw, &cudie);
	if (!ci)
		return -ENOMEM;
	for (k = enclosing_scope(ci, off); k >= 0 && n < INDEX_MAX_DEPTH; k = ci->scopes[k].parent)
		chain[n++] = ci->scopes[k].name;
	while (n-- > 0) {
		if (append(buf, len, &o, chain[n]) || append(buf, len, &o, "::"))
			return -ENOSPC;
	}
	if (append(buf, len, &o, name))
		return -ENOSPC;
	return (int)o;
}

int dw_split_path(const char *path, char parts[][256], int max)
{
	int n = 0, depth = 0;
	const char *start = path, *p;

	for (p = path;; p++) {
		if (*p == '<' || *p == '(' || *p == '[')
			depth++;
		else if ((*p == '>' || *p == ')' || *p == ']') && depth > 0)
			depth--;
		if (*p == '\0' || (depth == 0 && p[0] == ':' && p[1] == ':')) {
			if (n == max)
				return -ENOSPC;
			snprintf(parts[n++], 256, "%.*s", (int)(p - start), start);
			if (!*p)
				break;
			start = p + 2;
			p++;
		}
	}
	return n;
}

/* Whether scope k of ci has the path parts[0..n-1] (k itself is parts[n-1]). */
static bool scope_matches(const struct cu_index *ci, int k, char parts[][256], int n)
{
	while (n > 0 && k >= 0) {
		if (strcmp(ci->scopes[k].name, parts[n - 1]))
			return false;
		k = ci->scopes[k].parent;
		n--;
	}
	return n == 0 && k < 0;
}

static bool is_type_tag(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
	       tag == DW_TAG_enumeration_type || tag == DW_TAG_class_type;
}

static int find_in_cu(const struct cu_index *ci, char parts[][256], int n, Dwarf_Off *off)
{
	size_t i;

	for (i = 0; i < ci->nscopes; i++) {
		if (!is_type_tag(ci->scopes[i].tag) || strcmp(ci->scopes[i].name, parts[n - 1]))
			continue;
		if (scope_matches(ci, (int)i, parts, n)) {
			*off = ci->scopes[i].off;
			return 0;
		}
	}
	return -ENOENT;
}

int dw_index__find_type(struct ts_dwarf *dw, const char *qname, Dwarf_Off *off)
{
	char (*parts)[256];
	Dwarf_Off cu = 0, next;
	size_t hsize, i;
	int n, err = -ENOENT;

	for (i = 0; i < dw->nnamed; i++) {
		if (!strcmp(dw->named[i].name, qname)) {
			*off = dw->named[i].off;
			return *off ? 0 : -ENOENT;
		}
	}
	parts = calloc(INDEX_MAX_DEPTH, sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	n = dw_split_path(qname, parts, INDEX_MAX_DEPTH);
	if (n <= 0) {
		err = -EINVAL;
		goto cleanup;
	}
	/* CUs already indexed first: the answer is usually in one of them */
	for (i = 0; i < dw->ncus && err; i++)
		if (dw->cus[i].built)
			err = find_in_cu(&dw->cus[i], parts, n, off);
	while (err && dwarf_nextcu(dw->dbg, cu, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cudie;
		struct cu_index *ci;

		if (dwarf_offdie(dw->dbg, cu + hsize, &cudie)) {
			ci = cu_slot(dw, dwarf_dieoffset(&cudie));
			if (ci && !ci->built) {
				if (cu_build(dw, ci, &cudie)) {
					err = -ENOMEM;
					break;
				}
				err = find_in_cu(ci, parts, n, off);
			}
		}
		cu = next;
	}
	if (!ts_array_reserve(&dw->named, &dw->cap_named, dw->nnamed + 1)) {
		struct dw_named *nv = &dw->named[dw->nnamed];

		nv->name = strdup(qname);
		nv->off = err ? 0 : *off;
		if (nv->name)
			dw->nnamed++;
	}
cleanup:
	free(parts);
	return err;
}

static bool template_t_is(Dwarf_Die *die, Dwarf_Off t_off)
{
	Dwarf_Die child, ty;
	Dwarf_Attribute a;

	if (dwarf_child(die, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_template_type_parameter)
			continue;
		if (dwarf_attr(&child, DW_AT_type, &a) && dwarf_formref_die(&a, &ty))
			return dwarf_dieoffset(&ty) == t_off;
		return false;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

int dw_index__find_generic(struct ts_dwarf *dw, Dwarf_Off near_off, const char *qprefix,
			   Dwarf_Off t_off, Dwarf_Off *off)
{
	char (*parts)[256];
	struct cu_index *ci;
	Dwarf_Die die, cudie;
	size_t i, plen;
	int n, err = -ENOENT;

	if (!dwarf_offdie(dw->dbg, near_off, &die) || !dwarf_diecu(&die, &cudie, NULL, NULL))
		return -ENOENT;
	ci = cu_of(dw, &cudie);
	if (!ci)
		return -ENOMEM;
	parts = calloc(INDEX_MAX_DEPTH, sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	n = dw_split_path(qprefix, parts, INDEX_MAX_DEPTH);
	if (n <= 0)
		goto cleanup;
	plen = strlen(parts[n - 1]);
	for (i = 0; i < ci->nscopes && err; i++) {
		const struct dw_scope *s = &ci->scopes[i];

		if (!is_type_tag(s->tag) || strncmp(s->name, parts[n - 1], plen))
			continue;
		if (n > 1 ? s->parent < 0 || !scope_matches(ci, s->parent, parts, n - 1)
			  : s->parent >= 0)
			continue;
		if (!dwarf_offdie(dw->dbg, s->off, &die) || !template_t_is(&die, t_off))
			continue;
		*off = s->off;
		err = 0;
	}
cleanup:
	free(parts);
	return err;
}
