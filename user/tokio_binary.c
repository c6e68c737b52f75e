/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demangle.h"
#include "tokio_binary.h"

/*
 * tokio 1.24 `raw::Vtable` is not #[repr(C)], but all ten fields are
 * pointer-sized and rustc keeps declaration order for equal alignment:
 * poll, schedule, dealloc, try_read_output, drop_join_handle_slow,
 * drop_abort_handle, shutdown, trailer_offset, scheduler_offset,
 * id_offset. Each vtable found this way is checked (its dealloc slot must
 * point at a raw::dealloc instance) so a reordering is detected, not
 * trusted.
 */
#define VT_POLL			0
#define VT_DEALLOC		16
#define VT_TRAILER_OFFSET	56
#define VT_SCHEDULER_OFFSET	64
#define VT_ID_OFFSET		TOKIO_VT_ID_OFFSET_SLOT
#define VT_SIZE			80

#define R_X86_64_RELATIVE_TYPE	8

struct sym_ent {
	uint64_t vaddr;
	const char *name;	/* mangled, owned by libelf */
};

struct reloc_ent {
	uint64_t where;		/* r_offset */
	uint64_t target;	/* r_addend */
};

struct elf_ctx {
	Elf *elf;
	GElf_Phdr *phdrs;
	size_t nphdrs;
	struct sym_ent *syms;	/* functions, sorted by vaddr */
	size_t nsyms;
	struct reloc_ent *relocs;	/* RELATIVE relocations, sorted by where */
	size_t nrelocs;
};

static int cmp_sym(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

static int cmp_reloc(const void *a, const void *b)
{
	const struct reloc_ent *x = a, *y = b;

	return (x->where > y->where) - (x->where < y->where);
}

static int cmp_func(const void *a, const void *b)
{
	const struct elf_func *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

static int cmp_poll(const void *a, const void *b)
{
	return cmp_func(&((const struct tokio_poll_fn *)a)->fn,
			&((const struct tokio_poll_fn *)b)->fn);
}

static int cmp_vtable(const void *a, const void *b)
{
	const struct tokio_vtable *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

/* File offset of an ELF vaddr, through the PT_LOAD that holds it. */
static int vaddr_to_off(const struct elf_ctx *ec, uint64_t vaddr, uint64_t *off,
			const GElf_Phdr **seg)
{
	size_t i;

	for (i = 0; i < ec->nphdrs; i++) {
		const GElf_Phdr *p = &ec->phdrs[i];

		if (p->p_type != PT_LOAD)
			continue;
		if (vaddr >= p->p_vaddr && vaddr < p->p_vaddr + p->p_filesz) {
			*off = vaddr - p->p_vaddr + p->p_offset;
			if (seg)
				*seg = p;
			return 0;
		}
	}
	return -ENOENT;
}

/* Reads file bytes at an ELF vaddr. */
static int read_vaddr(const struct elf_ctx *ec, int fd, uint64_t vaddr, void *buf,
		      size_t len)
{
	uint64_t off;

	if (vaddr_to_off(ec, vaddr, &off, NULL))
		return -ENOENT;
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		return -EIO;
	return 0;
}

static const struct sym_ent *sym_at(const struct elf_ctx *ec, uint64_t vaddr)
{
	size_t lo = 0, hi = ec->nsyms;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ec->syms[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ec->nsyms && ec->syms[lo].vaddr == vaddr ? &ec->syms[lo] : NULL;
}

static const struct reloc_ent *reloc_at(const struct elf_ctx *ec, uint64_t where)
{
	size_t lo = 0, hi = ec->nrelocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ec->relocs[mid].where < where)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ec->nrelocs && ec->relocs[lo].where == where ? &ec->relocs[lo] : NULL;
}

static int push_func(struct elf_func **v, size_t *n, const struct elf_func *f)
{
	struct elf_func *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = *f;
	*v = nv;
	return 0;
}

static void find_version(Elf_Data *data, char *out, size_t len)
{
	static const char needle[] = "tokio-1.";
	const char *p = data->d_buf, *end = p + data->d_size;
	size_t n;

	while (p && p < end) {
		p = memmem(p, end - p, needle, sizeof(needle) - 1);
		if (!p)
			return;
		p += sizeof(needle) - 3;	/* at "1." */
		for (n = 0; p + n < end && n + 1 < len &&
		     ((p[n] >= '0' && p[n] <= '9') || p[n] == '.'); n++)
			;
		/* "tokio-1.24.2/src": a full version is followed by '/' */
		if (n >= 3 && p + n < end && p[n] == '/') {
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
	}
}

static void read_build_id(Elf_Data *data, char *out, size_t len)
{
	size_t off = 0, name_off, desc_off, i, o = 0;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID)
			continue;
		for (i = 0; i < nh.n_descsz && o + 3 <= len; i++)
			o += snprintf(out + o, len - o, "%02x",
				      ((unsigned char *)data->d_buf)[desc_off + i]);
		return;
	}
}

static int collect(struct elf_ctx *ec, struct tokio_binary *tb)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx, i;
	Elf_Scn *symscn = NULL;
	GElf_Shdr symsh = {};

	if (elf_getshdrstrndx(ec->elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(ec->elf, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(ec->elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
			tb->has_symtab = true;
		} else if (sh.sh_type == SHT_DYNSYM && !symscn) {
			symscn = scn;
			symsh = sh;
		} else if (!strcmp(name, ".debug_info") && sh.sh_type != SHT_NOBITS) {
			tb->has_debuginfo = true;
		} else if (!strcmp(name, ".rodata") && (data = elf_getdata(scn, NULL))) {
			find_version(data, tb->version, sizeof(tb->version));
		} else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.gnu.build-id") &&
			   (data = elf_getdata(scn, NULL))) {
			read_build_id(data, tb->build_id, sizeof(tb->build_id));
		} else if (sh.sh_type == SHT_RELA && (data = elf_getdata(scn, NULL))) {
			size_t n = sh.sh_size / sizeof(Elf64_Rela), k;
			struct reloc_ent *nv;

			nv = realloc(ec->relocs, (ec->nrelocs + n) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			ec->relocs = nv;
			for (k = 0; k < n; k++) {
				GElf_Rela r;

				if (!gelf_getrela(data, (int)k, &r))
					break;
				if (GELF_R_TYPE(r.r_info) != R_X86_64_RELATIVE_TYPE)
					continue;
				ec->relocs[ec->nrelocs].where = r.r_offset;
				ec->relocs[ec->nrelocs].target = (uint64_t)r.r_addend;
				ec->nrelocs++;
			}
		}
	}
	if (!symscn)
		return 0;

	{
		Elf_Data *data = elf_getdata(symscn, NULL);
		size_t n = symsh.sh_entsize ? symsh.sh_size / symsh.sh_entsize : 0;

		ec->syms = calloc(n ? n : 1, sizeof(*ec->syms));
		if (!ec->syms)
			return -ENOMEM;
		for (i = 0; data && i < n; i++) {
			GElf_Sym s;
			const char *nm;

			if (!gelf_getsym(data, (int)i, &s))
				break;
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
				continue;
			nm = elf_strptr(ec->elf, symsh.sh_link, s.st_name);
			if (!nm || !*nm)
				continue;
			ec->syms[ec->nsyms].vaddr = s.st_value;
			ec->syms[ec->nsyms].name = nm;
			ec->nsyms++;

			/* cheap prefilter before demangling: only tokio's task module */
			if (!strstr(nm, "tokio"))
				continue;
			{
				char dm[1024];
				struct elf_func f = { .vaddr = s.st_value, .size = s.st_size };

				ts_demangle(nm, dm, sizeof(dm));
				if (vaddr_to_off(ec, f.vaddr, &f.file_off, NULL))
					continue;
				if (ts_name_is(dm, "tokio::runtime::task::raw::poll")) {
					struct tokio_poll_fn *nv;

					nv = realloc(tb->polls, (tb->npolls + 1) * sizeof(*nv));
					if (!nv)
						return -ENOMEM;
					tb->polls = nv;
					memset(&nv[tb->npolls], 0, sizeof(*nv));
					nv[tb->npolls++].fn = f;
				} else if (ts_name_is(dm, "tokio::runtime::task::raw::dealloc")) {
					if (push_func(&tb->deallocs, &tb->ndeallocs, &f))
						return -ENOMEM;
				} else if (ts_name_is(dm, "tokio::runtime::task::waker::wake_by_val")) {
					tb->wake_by_val = f;
				} else if (ts_name_is(dm, "tokio::runtime::task::waker::wake_by_ref")) {
					tb->wake_by_ref = f;
				}
			}
		}
	}
	qsort(ec->syms, ec->nsyms, sizeof(*ec->syms), cmp_sym);
	qsort(ec->relocs, ec->nrelocs, sizeof(*ec->relocs), cmp_reloc);
	return 0;
}

/* Aliases (same address, several names) must be probed once. */
static void dedup_polls(struct tokio_binary *tb)
{
	size_t i, o = 0;

	qsort(tb->polls, tb->npolls, sizeof(*tb->polls), cmp_poll);
	for (i = 0; i < tb->npolls; i++)
		if (!o || tb->polls[o - 1].fn.vaddr != tb->polls[i].fn.vaddr)
			tb->polls[o++] = tb->polls[i];
	tb->npolls = o;
}

static void dedup_funcs(struct elf_func *v, size_t *n)
{
	size_t i, o = 0;

	qsort(v, *n, sizeof(*v), cmp_func);
	for (i = 0; i < *n; i++)
		if (!o || v[o - 1].vaddr != v[i].vaddr)
			v[o++] = v[i];
	*n = o;
}

static bool is_dealloc(const struct tokio_binary *tb, uint64_t vaddr)
{
	size_t lo = 0, hi = tb->ndeallocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tb->deallocs[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tb->ndeallocs && tb->deallocs[lo].vaddr == vaddr;
}

/*
 * Without debuginfo a legacy-mangled raw::poll symbol names no type, but
 * raw::dealloc<T, S> begins by calling drop_in_place<Cell<T, S>>, whose
 * symbol does: decode the first direct call that lands on such a symbol.
 */
static void name_from_dealloc(const struct elf_ctx *ec, int fd, uint64_t dealloc,
			      struct tokio_poll_fn *p)
{
	unsigned char code[96];
	size_t i;

	if (read_vaddr(ec, fd, dealloc, code, sizeof(code)))
		return;
	for (i = 0; i + 5 <= sizeof(code); i++) {
		const struct sym_ent *s;
		int32_t rel;
		char dm[2048];

		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, code + i + 1, sizeof(rel));
		s = sym_at(ec, dealloc + i + 5 + (int64_t)rel);
		if (!s)
			continue;
		ts_demangle(s->name, dm, sizeof(dm));
		if (!ts_cell_future_type(dm, p->future_type, sizeof(p->future_type)))
			continue;
		ts_readable_future_name(p->future_type, p->name, sizeof(p->name));
		p->blocking = !strncmp(p->future_type, "tokio::runtime::blocking::task::BlockingTask<",
				       strlen("tokio::runtime::blocking::task::BlockingTask<"));
		return;
	}
}

static int find_vtables(struct elf_ctx *ec, int fd, struct tokio_binary *tb)
{
	size_t i, k;

	for (k = 0; k < ec->nrelocs; k++) {
		const struct reloc_ent *r = &ec->relocs[k], *d;
		struct tokio_vtable vt = {}, *nv;
		uint64_t words[3];
		int idx;

		idx = tokio_binary__poll_index(tb, r->target);
		if (idx < 0)
			continue;
		vt.vaddr = r->where - VT_POLL;
		d = reloc_at(ec, vt.vaddr + VT_DEALLOC);
		if (!d || !is_dealloc(tb, d->target))
			continue;	/* not a task vtable, or a layout we don't know */
		if (read_vaddr(ec, fd, vt.vaddr + VT_TRAILER_OFFSET, words, sizeof(words)))
			continue;
		vt.poll_idx = idx;
		vt.dealloc_vaddr = d->target;
		vt.trailer_offset = words[0];
		vt.scheduler_offset = words[1];
		vt.id_offset = words[2];
		nv = realloc(tb->vtables, (tb->nvtables + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		tb->vtables = nv;
		tb->vtables[tb->nvtables++] = vt;
		if (!tb->vtable_seg_vaddr) {
			const GElf_Phdr *seg;
			uint64_t off;

			if (!vaddr_to_off(ec, vt.vaddr, &off, &seg)) {
				tb->vtable_seg_vaddr = seg->p_vaddr;
				tb->vtable_seg_offset = seg->p_offset;
			}
		}
	}
	qsort(tb->vtables, tb->nvtables, sizeof(*tb->vtables), cmp_vtable);
	for (i = 0; i < tb->nvtables; i++) {
		struct tokio_poll_fn *p = &tb->polls[tb->vtables[i].poll_idx];
		size_t k;

		if (!p->name[0])
			name_from_dealloc(ec, fd, tb->vtables[i].dealloc_vaddr, p);
		/* one dealloc<T, S> serving two vtables was folded from two T */
		for (k = 0; k < tb->nvtables; k++)
			if (k != i && tb->vtables[k].dealloc_vaddr == tb->vtables[i].dealloc_vaddr &&
			    tb->vtables[k].poll_idx != tb->vtables[i].poll_idx)
				p->name_ambiguous = true;
	}
	return 0;
}

int tokio_binary__load(struct tokio_binary *tb, const char *path)
{
	struct elf_ctx ec = {};
	size_t i;
	int fd, err;

	memset(tb, 0, sizeof(*tb));
	snprintf(tb->path, sizeof(tb->path), "%s", path);
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ec.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!ec.elf || elf_kind(ec.elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (elf_getphdrnum(ec.elf, &ec.nphdrs)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	ec.phdrs = calloc(ec.nphdrs ? ec.nphdrs : 1, sizeof(*ec.phdrs));
	if (!ec.phdrs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < ec.nphdrs; i++)
		gelf_getphdr(ec.elf, (int)i, &ec.phdrs[i]);

	err = collect(&ec, tb);
	if (err)
		goto cleanup;
	dedup_polls(tb);
	dedup_funcs(tb->deallocs, &tb->ndeallocs);
	if (!tb->npolls) {
		err = -ESRCH;
		goto cleanup;
	}
	err = find_vtables(&ec, fd, tb);
cleanup:
	free(ec.syms);
	free(ec.relocs);
	free(ec.phdrs);
	if (ec.elf)
		elf_end(ec.elf);
	close(fd);
	if (err && err != -ESRCH)
		tokio_binary__free(tb);
	return err;
}

void tokio_binary__free(struct tokio_binary *tb)
{
	free(tb->polls);
	free(tb->deallocs);
	free(tb->vtables);
	tb->polls = NULL;
	tb->deallocs = NULL;
	tb->vtables = NULL;
	tb->npolls = tb->ndeallocs = tb->nvtables = 0;
}

int tokio_binary__poll_index(const struct tokio_binary *tb, uint64_t vaddr)
{
	size_t lo = 0, hi = tb->npolls;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tb->polls[mid].fn.vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tb->npolls && tb->polls[lo].fn.vaddr == vaddr ? (int)lo : -1;
}

const struct tokio_vtable *tokio_binary__vtable(const struct tokio_binary *tb,
						uint64_t vaddr)
{
	size_t lo = 0, hi = tb->nvtables;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tb->vtables[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tb->nvtables && tb->vtables[lo].vaddr == vaddr ? &tb->vtables[lo] : NULL;
}
