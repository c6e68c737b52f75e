/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "demangle.h"
#include "runtime_binary.h"
#include "vtable_shape.h"

/* The probe points of one kind of runtime, as found in the symbol table. */
struct runtime_fns {
	struct task_poll_fn *polls;
	size_t npolls, polls_cap;
	struct elf_func *deallocs, *wakes;
	size_t ndeallocs, nwakes, deallocs_cap, wakes_cap;
	uint64_t task_id_counter;	/* vaddr of the next-Id static, 0 none */
};

#define RUNTIME_KINDS	(TS_RT_USDT + 1)

/*
 * Descriptors of one kind share their entry points unless a release
 * renamed one: each set is matched once per symbol.
 */
struct entry_sets {
	const struct runtime_desc *desc[TS_MAX_RUNTIME_DESCS];
	size_t n;
};

#define R_X86_64_RELATIVE_TYPE	8

struct sym_ent {
	uint64_t vaddr;
	uint64_t size;		/* st_size, 0 when unknown */
	const char *name;	/* mangled, owned by libelf */
};

struct reloc_ent {
	uint64_t where;		/* r_offset */
	uint64_t target;	/* r_addend */
};

struct elf_ctx {
	Elf *elf;
	uint64_t file_size;	/* every size and offset read from the file is checked against it */
	GElf_Phdr *phdrs;
	size_t nphdrs;
	struct sym_ent *syms;	/* functions, sorted by vaddr */
	size_t nsyms;
	struct reloc_ent *relocs;	/* RELATIVE relocations, sorted by where */
	size_t nrelocs, relocs_cap;
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
	return cmp_func(&((const struct task_poll_fn *)a)->fn,
			&((const struct task_poll_fn *)b)->fn);
}

static int cmp_vtable(const void *a, const void *b)
{
	const struct task_vtable *x = a, *y = b;

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
	size_t lo = TS_LOWER_BOUND(ec->syms, ec->nsyms, vaddr, vaddr);

	return lo < ec->nsyms && ec->syms[lo].vaddr == vaddr ? &ec->syms[lo] : NULL;
}

static const struct reloc_ent *reloc_at(const struct elf_ctx *ec, uint64_t where)
{
	size_t lo = TS_LOWER_BOUND(ec->relocs, ec->nrelocs, where, where);

	return lo < ec->nrelocs && ec->relocs[lo].where == where ? &ec->relocs[lo] : NULL;
}

static int push_func(struct elf_func **v, size_t *n, size_t *cap, const struct elf_func *f)
{
	struct elf_func *nf = ts_array_add(v, n, cap);

	if (!nf)
		return -ENOMEM;
	*nf = *f;
	return 0;
}

/*
 * Panic-location strings name the crate directory with its version:
 * "…/tokio-1.24.2/src/…". Survives strip, so it also tells a stripped
 * tokio binary from one without a runtime.
 */
static bool find_version(Elf_Data *data, const char *crate, char *out, size_t len)
{
	char needle[64];
	const char *p = data->d_buf, *end;
	size_t n, nl = (size_t)snprintf(needle, sizeof(needle), "/%s-", crate);

	/* SHT_NOBITS .rodata (a debug-only file): a size, no bytes */
	if (!p)
		return false;
	end = p + data->d_size;
	while (p < end) {
		p = memmem(p, end - p, needle, nl);
		if (!p)
			return false;
		p += nl;
		for (n = 0; p + n < end && n + 1 < len &&
		     ((p[n] >= '0' && p[n] <= '9') || p[n] == '.'); n++)
			;
		/* a full version is followed by '/' */
		if (n >= 3 && p + n < end && p[n] == '/') {
			memcpy(out, p, n);
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

/*
 * The runtime's descriptor, from the version of its crate, and the name
 * and version users know it by.
 */
static void choose_runtime(Elf_Data *rodata, struct runtime_binary *tb, enum ts_runtime kind)
{
	static const char *const async_task_fronts[] = { "async-std", "smol" };
	const struct runtime_desc *first = runtime_desc__first(kind);
	size_t i;

	if (rodata && first->crate &&
	    find_version(rodata, first->crate, tb->version, sizeof(tb->version)))
		snprintf(tb->version_from, sizeof(tb->version_from),
			 "panic-location strings (.../%s-%s/src/...)", first->crate, tb->version);
	tb->runtime = kind;
	tb->desc = runtime_desc__choose(kind, tb->version);
	tb->layout = tb->desc->layout;
	snprintf(tb->runtime_name, sizeof(tb->runtime_name), "%s",
		 first->crate ? first->crate : first->name);
	if (first->abi_version) {
		snprintf(tb->version, sizeof(tb->version), "%s", first->abi_version);
		snprintf(tb->version_from, sizeof(tb->version_from), "the probes' ABI");
	}
	if (kind != TS_RT_ASYNC_TASK || !rodata)
		return;
	for (i = 0; i < ARRAY_SIZE(async_task_fronts); i++) {
		if (find_version(rodata, async_task_fronts[i], tb->version, sizeof(tb->version))) {
			snprintf(tb->version_from, sizeof(tb->version_from),
				 "panic-location strings (.../%s-%s/src/...)", async_task_fronts[i],
				 tb->version);
			snprintf(tb->runtime_name, sizeof(tb->runtime_name), "%s",
				 async_task_fronts[i]);
			return;
		}
	}
	/*
	 * smol re-exports async-executor and leaves no symbol or panic
	 * location of its own: async-executor without async-std is smol.
	 */
	if (find_version(rodata, "async-executor", tb->version, sizeof(tb->version) - 17)) {
		snprintf(tb->runtime_name, sizeof(tb->runtime_name), "smol");
		snprintf(tb->version_from, sizeof(tb->version_from),
			 "panic-location strings (.../async-executor-%s/src/...)", tb->version);
		strcat(tb->version, " (async-executor)");
	}
}

static void read_build_id(Elf_Data *data, char *out, size_t len)
{
	size_t off = 0, name_off, desc_off, i, o = 0;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID)
			continue;
		if (desc_off > data->d_size || nh.n_descsz > data->d_size - desc_off)
			return;
		for (i = 0; i < nh.n_descsz && o + 3 <= len; i++)
			o += snprintf(out + o, len - o, "%02x",
				      ((unsigned char *)data->d_buf)[desc_off + i]);
		return;
	}
}

static int push_poll(struct runtime_fns *rf, const struct elf_func *f)
{
	struct task_poll_fn *np = ts_array_add(&rf->polls, &rf->npolls, &rf->polls_cap);

	if (!np)
		return -ENOMEM;
	np->fn = *f;
	return 0;
}

static void entry_sets__init(struct entry_sets *es)
{
	size_t i, k;

	es->n = 0;
	for (i = 0; i < runtime_desc__count(); i++) {
		const struct runtime_desc *d = runtime_desc__at(i);

		if (!d->entry)
			continue;
		for (k = 0; k < es->n && es->desc[k]->entry != d->entry; k++)
			;
		if (k == es->n)
			es->desc[es->n++] = d;
	}
}

static bool entry_sets__may_match(const struct entry_sets *es, const char *mangled)
{
	size_t k;

	for (k = 0; k < es->n; k++)
		if (runtime_entry__may_match(es->desc[k]->entry, mangled))
			return true;
	return false;
}

/* Sorts one function into the probe sets of its runtime, if it is one. */
static int classify(const struct entry_sets *es, const char *dm, const struct elf_func *f,
		    struct runtime_fns rf[RUNTIME_KINDS])
{
	size_t k;

	for (k = 0; k < es->n; k++) {
		struct runtime_fns *r = &rf[es->desc[k]->kind];

		switch (runtime_entry__match(es->desc[k]->entry, dm)) {
		case RUNTIME_ENTRY_POLL:
			return push_poll(r, f);
		case RUNTIME_ENTRY_DEALLOC:
			return push_func(&r->deallocs, &r->ndeallocs, &r->deallocs_cap, f);
		case RUNTIME_ENTRY_WAKE:
			return push_func(&r->wakes, &r->nwakes, &r->wakes_cap, f);
		case RUNTIME_ENTRY_NONE:
			break;
		}
	}
	return 0;
}

/* A runtime's static holding the next task Id, if the object sym is one. */
static void classify_object(const struct entry_sets *es, const char *mangled, uint64_t vaddr,
			    struct runtime_fns rf[RUNTIME_KINDS])
{
	char dm[256];
	size_t k;

	for (k = 0; k < es->n; k++) {
		const struct runtime_entry_points *e = es->desc[k]->entry;
		const char *last;

		if (!e->task_id_counter || !runtime_entry__may_match(e, mangled))
			continue;
		/* both manglings keep the last path component as it is */
		last = strrchr(e->task_id_counter, ':');
		if (!strstr(mangled, last ? last + 1 : e->task_id_counter))
			continue;
		ts_demangle(mangled, dm, sizeof(dm));
		if (runtime_entry__is_task_id_counter(e, dm))
			rf[es->desc[k]->kind].task_id_counter = vaddr;
	}
}

static void runtime_fns__free(struct runtime_fns *rf)
{
	free(rf->polls);
	free(rf->deallocs);
	free(rf->wakes);
	memset(rf, 0, sizeof(*rf));
}

/* Sites of usdt/taskscope.h, with the file offsets uprobes want. */
static int read_usdt_sites(const struct elf_ctx *ec, Elf_Data *notes, uint64_t base_addr,
			   struct runtime_binary *tb)
{
	size_t i, o = 0;
	int err;

	err = usdt_notes__parse(notes, base_addr, &tb->usdt, &tb->nusdt);
	if (err)
		return err;
	for (i = 0; i < tb->nusdt; i++) {
		struct usdt_site *s = &tb->usdt[i];

		if (vaddr_to_off(ec, s->pc, &s->pc_off, NULL))
			continue;	/* code the linker dropped */
		if (s->sema && vaddr_to_off(ec, s->sema, &s->sema_off, NULL))
			continue;
		tb->usdt[o++] = *s;
	}
	tb->nusdt = o;
	return 0;
}

static int collect(struct elf_ctx *ec, struct runtime_binary *tb)
{
	struct runtime_fns rf[RUNTIME_KINDS] = {};
	struct entry_sets es;
	Elf_Data *rodata = NULL, *stapsdt = NULL;
	uint64_t stapsdt_base = 0;
	int err = 0, rt;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx, i;
	Elf_Scn *symscn = NULL;
	GElf_Shdr symsh = {};

	if (elf_getshdrstrndx(ec->elf, &shstrndx))
		return -ENOEXEC;
	entry_sets__init(&es);
	while ((scn = elf_nextscn(ec->elf, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh))
			continue;
		/*
		 * A section past the end of the file is a corrupt header, and
		 * its size must not size an allocation (a fuzzed .symtab
		 * asked for 1.4 TB): refuse the file.
		 */
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > ec->file_size || sh.sh_size > ec->file_size - sh.sh_offset)) {
			err = -ENOEXEC;
			goto out;
		}
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
			rodata = data;
		} else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.stapsdt")) {
			stapsdt = elf_getdata(scn, NULL);
		} else if (!strcmp(name, ".stapsdt.base")) {
			stapsdt_base = sh.sh_addr;
		} else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.gnu.build-id") &&
			   (data = elf_getdata(scn, NULL))) {
			read_build_id(data, tb->build_id, sizeof(tb->build_id));
		} else if (sh.sh_type == SHT_RELA && (data = elf_getdata(scn, NULL))) {
			/* the entries the data holds, not what sh_size claims */
			size_t rela_size = gelf_fsize(ec->elf, ELF_T_RELA, 1, EV_CURRENT);
			size_t n = rela_size ? data->d_size / rela_size : 0, k;

			if (!n)
				continue;
			if (ts_array_reserve(&ec->relocs, &ec->relocs_cap, ec->nrelocs + n)) {
				err = -ENOMEM;
				goto out;
			}
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
		goto out;

	{
		Elf_Data *data = elf_getdata(symscn, NULL);
		size_t sym_size = gelf_fsize(ec->elf, ELF_T_SYM, 1, EV_CURRENT);
		/* as many as the section's data holds, whatever sh_entsize says */
		size_t n = data && sym_size ? data->d_size / sym_size : 0;

		ec->syms = calloc(n ? n : 1, sizeof(*ec->syms));
		if (!ec->syms) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; data && i < n; i++) {
			GElf_Sym s;
			const char *nm;

			if (!gelf_getsym(data, (int)i, &s))
				break;
			if (GELF_ST_TYPE(s.st_info) == STT_OBJECT && s.st_value &&
			    (nm = elf_strptr(ec->elf, symsh.sh_link, s.st_name)))
				classify_object(&es, nm, s.st_value, rf);
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
				continue;
			nm = elf_strptr(ec->elf, symsh.sh_link, s.st_name);
			if (!nm || !*nm)
				continue;
			ec->syms[ec->nsyms].vaddr = s.st_value;
			ec->syms[ec->nsyms].size = s.st_size;
			ec->syms[ec->nsyms].name = nm;
			ec->nsyms++;

			/* cheap prefilter before demangling */
			if (!entry_sets__may_match(&es, nm))
				continue;
			{
				char dm[1024];
				struct elf_func f = { .vaddr = s.st_value, .size = s.st_size };

				ts_demangle(nm, dm, sizeof(dm));
				if (vaddr_to_off(ec, f.vaddr, &f.file_off, NULL))
					continue;
				err = classify(&es, dm, &f, rf);
				if (err)
					goto out;
			}
		}
	}
	/* qsort with a NULL array is undefined even for 0 elements */
	if (ec->nsyms > 1)
		qsort(ec->syms, ec->nsyms, sizeof(*ec->syms), cmp_sym);
	if (ec->nrelocs > 1)
		qsort(ec->relocs, ec->nrelocs, sizeof(*ec->relocs), cmp_reloc);
	if (stapsdt && !err)
		err = read_usdt_sites(ec, stapsdt, stapsdt_base, tb);
out:
	/* a binary holding both is observed as tokio, the more common one */
	rt = rf[TS_RT_TOKIO].npolls || !rf[TS_RT_ASYNC_TASK].npolls ? TS_RT_TOKIO
								    : TS_RT_ASYNC_TASK;
	/* only our probes: tasks, polls and wakes all come from them */
	if (!rf[TS_RT_TOKIO].npolls && !rf[TS_RT_ASYNC_TASK].npolls && tb->nusdt)
		rt = TS_RT_USDT;
	tb->polls = rf[rt].polls;
	tb->npolls = rf[rt].npolls;
	tb->deallocs = rf[rt].deallocs;
	tb->ndeallocs = rf[rt].ndeallocs;
	tb->wakes = rf[rt].wakes;
	tb->nwakes = rf[rt].nwakes;
	tb->next_task_id_vaddr = rf[rt].task_id_counter;
	memset(&rf[rt], 0, sizeof(rf[rt]));
	for (i = 0; i < RUNTIME_KINDS; i++)
		runtime_fns__free(&rf[i]);
	choose_runtime(rodata, tb, (enum ts_runtime)rt);
	return err;
}

/* Aliases (same address, several names) must be probed once. */
static void dedup_polls(struct runtime_binary *tb)
{
	size_t i, o = 0;

	if (tb->npolls > 1)
		qsort(tb->polls, tb->npolls, sizeof(*tb->polls), cmp_poll);
	for (i = 0; i < tb->npolls; i++)
		if (!o || tb->polls[o - 1].fn.vaddr != tb->polls[i].fn.vaddr)
			tb->polls[o++] = tb->polls[i];
	tb->npolls = o;
}

static void dedup_funcs(struct elf_func *v, size_t *n)
{
	size_t i, o = 0;

	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_func);
	for (i = 0; i < *n; i++)
		if (!o || v[o - 1].vaddr != v[i].vaddr)
			v[o++] = v[i];
	*n = o;
}

static bool is_dealloc(const struct runtime_binary *tb, uint64_t vaddr)
{
	size_t lo = TS_LOWER_BOUND(tb->deallocs, tb->ndeallocs, vaddr, vaddr);

	return lo < tb->ndeallocs && tb->deallocs[lo].vaddr == vaddr;
}

/* Strips the wrappers front ends (async-std, smol) put around a spawned future. */
static void unwrap_spawned(const struct runtime_desc *d, const char *type, char *out, size_t len)
{
	const char *const *wrappers = d->spawn_wrappers;
	char buf[512];
	size_t i;
	bool again = true;

	snprintf(buf, sizeof(buf), "%s", type);
	while (again) {
		again = false;
		for (i = 0; i < RUNTIME_MAX_NAMES && wrappers[i]; i++) {
			char inner[512];

			if (strncmp(buf, wrappers[i], strlen(wrappers[i])))
				continue;
			if (!ts_last_generic_arg(buf, inner, sizeof(inner)))
				continue;
			snprintf(buf, sizeof(buf), "%s", inner);
			again = true;
		}
	}
	snprintf(out, len, "%s", buf);
}

static void set_future_type(const struct runtime_desc *d, const char *type, struct task_poll_fn *p)
{
	if (d->future_in_cell)
		snprintf(p->future_type, sizeof(p->future_type), "%s", type);
	else
		unwrap_spawned(d, type, p->future_type, sizeof(p->future_type));
	ts_readable_future_name(p->future_type, p->name, sizeof(p->name));
	p->blocking = runtime_desc__is_blocking_future(d, p->future_type);
}

/* Longest task function whose calls are decoded (the largest seen: ~0x600). */
#define GLUE_SCAN_MAX	4096
/* Future types one folded drop glue may stand for, kept for the choice. */
#define GLUE_MAX_TYPES	8

/* The drop glue that best names a task's future, from one function's calls. */
struct glue_pick {
	enum ts_glue_rank rank;
	uint64_t at;		/* the glue's address: the first call of the best rank */
	size_t ntypes;		/* > 1: the linker folded glue of several types */
	char types[GLUE_MAX_TYPES][512];
};

/*
 * Calls cb on the target of every direct call (e8 rel32) and tail jump
 * (e9 rel32) in the function at fn, bounded by its symbol size, until cb
 * returns true. Opcodes are found by a byte scan, not by decoding
 * instructions: callers keep a target only if it starts a symbol they
 * recognise, which a stray e8 inside another instruction will not.
 */
static void each_call(const struct elf_ctx *ec, int fd, uint64_t fn,
		      bool (*cb)(const struct elf_ctx *ec, uint64_t target, void *ctx), void *ctx)
{
	const struct sym_ent *self = sym_at(ec, fn);
	unsigned char *code;
	size_t i, len = GLUE_SCAN_MAX;

	/*
	 * Not past the function's end: drop glue of a future with nothing to
	 * drop calls nothing, and the next function's call named it wrongly.
	 */
	if (self && self->size && self->size < len)
		len = self->size;
	code = malloc(len);
	if (!code)
		return;
	/* a function near the end of its segment: read what there is */
	while (len >= 5 && read_vaddr(ec, fd, fn, code, len))
		len /= 2;
	for (i = 0; len >= 5 && i + 5 <= len; i++) {
		int32_t rel;
		uint64_t target;

		if (code[i] != 0xe8 && code[i] != 0xe9)
			continue;
		memcpy(&rel, code + i + 1, sizeof(rel));
		target = fn + i + 5 + (int64_t)rel;
		if (target != fn && cb(ec, target, ctx))
			break;
	}
	free(code);
}

struct glue_scan {
	const struct runtime_desc *desc;
	struct glue_pick *pick;
};

/*
 * Every symbol at the target: identical code folding leaves one address
 * with the names of each type it served.
 */
static bool glue_at(const struct elf_ctx *ec, uint64_t target, void *ctx)
{
	struct glue_scan *g = ctx;
	struct glue_pick *pick = g->pick;
	size_t lo = TS_LOWER_BOUND(ec->syms, ec->nsyms, vaddr, target), k;

	for (; lo < ec->nsyms && ec->syms[lo].vaddr == target; lo++) {
		enum ts_glue_rank rank;
		char dm[2048], ty[512];

		ts_demangle(ec->syms[lo].name, dm, sizeof(dm));
		if (g->desc->future_in_cell)
			rank = ts_task_glue_rank(dm, ty, sizeof(ty));
		else	/* async-task RawTask::drop_future: its first drop glue is F's */
			rank = ts_drop_glue_type(dm, ty, sizeof(ty)) ? TS_GLUE_CELL : TS_GLUE_NONE;
		/* the first call of the best rank: the Stage's drop precedes the output's */
		if (rank == TS_GLUE_NONE || rank < pick->rank ||
		    (rank == pick->rank && pick->at != target))
			continue;
		if (rank > pick->rank) {
			pick->rank = rank;
			pick->at = target;
			pick->ntypes = 0;
		}
		for (k = 0; k < pick->ntypes && strcmp(pick->types[k], ty); k++)
			;
		if (k == pick->ntypes && k < GLUE_MAX_TYPES)
			snprintf(pick->types[pick->ntypes++], sizeof(pick->types[0]), "%s", ty);
	}
	return pick->rank == TS_GLUE_CELL;
}

static void best_drop_glue(const struct elf_ctx *ec, int fd, const struct runtime_desc *d,
			   uint64_t fn, struct glue_pick *pick)
{
	struct glue_scan g = { .desc = d, .pick = pick };

	memset(pick, 0, sizeof(*pick));
	each_call(ec, fd, fn, glue_at, &g);
}

struct poll_fn_search {
	const struct glue_pick *pick;
	int found;		/* index into pick->types, -1 none, -2 several */
	const struct elf_ctx *ec;
	int fd;
	int depth;
};

/* A call to the poll function of one of the types: `app::handler::{{closure}}`. */
static bool future_poll_at(const struct elf_ctx *ec, uint64_t target, void *ctx)
{
	struct poll_fn_search *s = ctx;
	size_t lo = TS_LOWER_BOUND(ec->syms, ec->nsyms, vaddr, target), k;
	bool tokio_core = false;

	for (; lo < ec->nsyms && ec->syms[lo].vaddr == target; lo++) {
		char dm[2048];

		ts_demangle(ec->syms[lo].name, dm, sizeof(dm));
		for (k = 0; k < s->pick->ntypes; k++) {
			if (strcmp(dm, s->pick->types[k]))
				continue;
			if (s->found >= 0 && s->found != (int)k)
				s->found = -2;
			else if (s->found == -1)
				s->found = (int)k;
		}
		tokio_core |= !strncmp(dm, "tokio::runtime::task::core::Core<", 33);
	}
	/* Harness::poll calls Core::poll, which calls the future's poll */
	if (tokio_core && s->depth == 0) {
		s->depth++;
		each_call(ec, s->fd, target, future_poll_at, s);
		s->depth--;
	}
	return s->found == -2;
}

/*
 * tokio's raw::poll<T, S> is a 5-byte `jmp Harness<T, S>::poll`, which on
 * completion drops a Box<Cell<T, S>>: that glue names T of this one poll
 * instance. The linker may fold that glue for types of the same layout
 * (tokio 1.53, cargo's release profile: one address named for lock_ab and
 * lock_ba); then the future's own poll function, called through
 * Core<T, S>::poll and never folded unless the two futures' code is the
 * same, tells which. True when named.
 */
static bool name_from_poll(const struct elf_ctx *ec, int fd, const struct runtime_desc *d,
			   struct task_poll_fn *p)
{
	struct poll_fn_search search = { .found = -1, .ec = ec, .fd = fd };
	struct glue_pick pick;
	unsigned char op[5];
	uint64_t fn = p->fn.vaddr;
	int32_t rel;

	if (!d->future_in_cell || read_vaddr(ec, fd, fn, op, sizeof(op)))
		return false;
	if (op[0] == 0xe9) {
		memcpy(&rel, op + 1, sizeof(rel));
		fn = fn + 5 + (int64_t)rel;
	}
	best_drop_glue(ec, fd, d, fn, &pick);
	if (pick.rank != TS_GLUE_CELL)
		return false;
	if (pick.ntypes > 1) {
		search.pick = &pick;
		each_call(ec, fd, fn, future_poll_at, &search);
		if (search.found < 0)
			return false;	/* the dealloc's glue may still tell, else ambiguous */
		set_future_type(d, pick.types[search.found], p);
		return true;
	}
	set_future_type(d, pick.types[0], p);
	return true;
}

/*
 * Without debuginfo a legacy-mangled raw::poll symbol names no type, but
 * the function in the vtable's naming slot calls drop glue whose symbol
 * does (tokio raw::dealloc<T, S>: drop_in_place<Cell<T, S>> up to 1.46;
 * from 1.47 the Cell's drop is inlined and its calls drop CoreStage<T> or
 * T itself, among tokio's own fields; async-task RawTask::drop_future:
 * drop_in_place<F>).
 */
static void name_from_drop_glue(const struct elf_ctx *ec, int fd, const struct runtime_desc *d,
				uint64_t fn, struct task_poll_fn *p)
{
	struct glue_pick pick;

	best_drop_glue(ec, fd, d, fn, &pick);
	if (pick.rank < TS_GLUE_ASYNC)
		return;
	set_future_type(d, pick.types[0], p);
	/* folded glue of several types: the first is a guess, and says so */
	if (pick.ntypes > 1)
		p->name_ambiguous = true;
}

/* The header offsets a vtable stores (tokio), as the descriptor places them. */
static int read_vtable_offsets(const struct elf_ctx *ec, int fd, const struct task_vtable_slots *s,
			       struct task_vtable *vt)
{
	uint64_t words[16];

	if (!s->trailer_offset && !s->scheduler_offset && !s->id_offset)
		return 0;
	if (s->size > sizeof(words) || read_vaddr(ec, fd, vt->vaddr, words, s->size))
		return -EIO;
	vt->trailer_offset = s->trailer_offset ? words[s->trailer_offset / 8] : 0;
	vt->scheduler_offset = s->scheduler_offset ? words[s->scheduler_offset / 8] : 0;
	vt->id_offset = s->id_offset ? words[s->id_offset / 8] : 0;
	return 0;
}

static int find_vtables(struct elf_ctx *ec, int fd, struct runtime_binary *tb)
{
	const struct task_vtable_slots *slots = &tb->desc->vtable;
	size_t i, k, vtables_cap = 0;

	for (k = 0; k < ec->nrelocs; k++) {
		const struct reloc_ent *r = &ec->relocs[k], *d, *nm;
		struct task_vtable vt = {}, *nv;
		int idx;

		idx = runtime_binary__poll_index(tb, r->target);
		if (idx < 0 || r->where < slots->poll)
			continue;
		vt.vaddr = r->where - slots->poll;
		/* the dealloc slot checks the shape: a reordering is detected, not trusted */
		d = reloc_at(ec, vt.vaddr + slots->dealloc);
		if (!d || !is_dealloc(tb, d->target))
			continue;	/* not a task vtable, or a layout we don't know */
		nm = reloc_at(ec, vt.vaddr + slots->naming);
		vt.poll_idx = idx;
		vt.dealloc_vaddr = d->target;
		vt.naming_vaddr = nm ? nm->target : 0;
		if (read_vtable_offsets(ec, fd, slots, &vt))
			continue;
		nv = ts_array_add(&tb->vtables, &tb->nvtables, &vtables_cap);
		if (!nv)
			return -ENOMEM;
		*nv = vt;
	}
	if (tb->nvtables > 1)
		qsort(tb->vtables, tb->nvtables, sizeof(*tb->vtables), cmp_vtable);
	for (i = 0; i < tb->nvtables; i++) {
		struct task_poll_fn *p = &tb->polls[tb->vtables[i].poll_idx];

		if (p->name[0])
			continue;
		if (name_from_poll(ec, fd, tb->desc, p))
			continue;
		if (tb->vtables[i].naming_vaddr)
			name_from_drop_glue(ec, fd, tb->desc, tb->vtables[i].naming_vaddr, p);
		/* one dealloc<T, S> serving two vtables was folded from two T */
		for (k = 0; k < tb->nvtables; k++)
			if (k != i && tb->vtables[k].naming_vaddr == tb->vtables[i].naming_vaddr &&
			    tb->vtables[k].poll_idx != tb->vtables[i].poll_idx)
				p->name_ambiguous = true;
	}
	return 0;
}

struct shape_ctx {
	const struct elf_ctx *ec;
	int fd;
};

static int shape_read_word(void *ctx, uint64_t vaddr, uint64_t *word)
{
	const struct shape_ctx *c = ctx;

	return read_vaddr(c->ec, c->fd, vaddr, word, sizeof(*word));
}

/* The executable segment: task functions live there. */
static void text_range(const struct elf_ctx *ec, uint64_t *lo, uint64_t *hi)
{
	size_t i;

	*lo = *hi = 0;
	for (i = 0; i < ec->nphdrs; i++)
		if (ec->phdrs[i].p_type == PT_LOAD && (ec->phdrs[i].p_flags & PF_X)) {
			*lo = ec->phdrs[i].p_vaddr;
			*hi = ec->phdrs[i].p_vaddr + ec->phdrs[i].p_memsz;
			return;
		}
}

#define SPAWN_SCAN_CHUNK	(1u << 20)
#define SPAWN_SCAN_SLACK	48	/* bytes past a chunk: an instruction pair spans it */
#define XADD_RIP_LEN		9	/* f0 REX.W 0f c1 ModRM(rip) disp32 */
#define XADD_REG_LEN		5	/* f0 REX.W 0f c1 ModRM([reg]) */
#define GOT_LOAD_LEN		7	/* REX.W 8b ModRM(rip) disp32 */
#define GOT_TO_XADD_MAX		24	/* the xadd follows its GOT load within this */
#define TS_MAX_SPAWN_SITES	256
#define SPAWN_SCAN_MAX		(512ULL << 20)	/* executable bytes scanned at most */

/* Where the file's bytes of the executable segment starting at lo end. */
static uint64_t text_file_end(const struct elf_ctx *ec, uint64_t lo)
{
	size_t i;

	for (i = 0; i < ec->nphdrs; i++)
		if (ec->phdrs[i].p_type == PT_LOAD && (ec->phdrs[i].p_flags & PF_X) &&
		    ec->phdrs[i].p_vaddr == lo)
			return lo + ec->phdrs[i].p_filesz;
	return lo;
}

static bool is_got_slot(const uint64_t *slots, size_t n, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (slots[i] == vaddr)
			return true;
	return false;
}

/*
 * Bytes a ModRM operand takes (ModRM, SIB, displacement), 0 when past
 * avail. Plain 64-bit encodings only: callers reject any legacy prefix.
 */
static size_t modrm_len(const unsigned char *p, size_t avail)
{
	unsigned int mod = p[0] >> 6, rm = p[0] & 7;
	size_t n = 1;

	if (!avail)
		return 0;
	if (mod != 3 && rm == 4) {		/* SIB */
		if (avail < 2)
			return 0;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;			/* no base: disp32 */
		n++;
	} else if (mod == 0 && rm == 5) {
		n += 4;				/* rip + disp32 */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n <= avail ? n : 0;
}

enum insn_kind { INSN_UNKNOWN, INSN_PLAIN, INSN_EMULATED };

/*
 * Decodes the few instruction forms compilers put between the Id's xadd
 * and the next branch (mov, lea, test, movups, mov imm), and the ones the
 * kernel emulates instead of single-stepping (jcc, jmp, call, push): a
 * probe on those costs 5.3 us instead of 19 (bench/README.md 1a). Sets
 * *len and *writes (the general register it writes, -1 none). Anything
 * else is INSN_UNKNOWN: the walk stops there, so a length is never
 * guessed (a probe off an instruction boundary would corrupt the code).
 */
static enum insn_kind decode_insn(const unsigned char *p, size_t avail, size_t *len, int *writes)
{
	unsigned int rex = 0, op, m;
	size_t i = 0, ml;

	*writes = -1;
	if (avail && (p[0] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= avail)
		return INSN_UNKNOWN;
	op = p[i];
	if (op >= 0x50 && op <= 0x57 && (!rex || rex == 0x41)) {
		*len = i + 1;
		return INSN_EMULATED;		/* push */
	}
	if (!rex && op >= 0x70 && op <= 0x7f && avail >= 2) {
		*len = 2;
		return INSN_EMULATED;		/* jcc rel8 */
	}
	if (!rex && (op == 0xe8 || op == 0xe9) && avail >= 5) {
		*len = 5;
		return INSN_EMULATED;		/* call / jmp rel32 */
	}
	if (!rex && op == 0xeb && avail >= 2) {
		*len = 2;
		return INSN_EMULATED;		/* jmp rel8 */
	}
	if (op == 0x0f && i + 1 < avail) {
		op = p[i + 1];
		if (!rex && op >= 0x80 && op <= 0x8f && avail >= 6) {
			*len = 6;
			return INSN_EMULATED;	/* jcc rel32 */
		}
		if ((op == 0x10 || op == 0x11) && (ml = modrm_len(p + i + 2, avail - i - 2))) {
			*len = i + 2 + ml;	/* movups: an xmm register or memory */
			return INSN_PLAIN;
		}
		return INSN_UNKNOWN;
	}
	if (i + 1 >= avail)
		return INSN_UNKNOWN;
	m = p[i + 1];
	ml = modrm_len(p + i + 1, avail - i - 1);
	if (!ml)
		return INSN_UNKNOWN;
	switch (op) {
	case 0x84:
	case 0x85:			/* test: flags only */
		break;
	case 0x89:			/* mov r -> r/m */
	case 0x31:			/* xor r -> r/m */
		if ((m >> 6) == 3)
			*writes = (int)(((rex & 1) << 3) | (m & 7));
		break;
	case 0x8b:			/* mov r/m -> r */
	case 0x8d:			/* lea */
	case 0x33:			/* xor r/m -> r */
		*writes = (int)(((rex & 4) << 1) | ((m >> 3) & 7));
		break;
	case 0xc7:			/* mov imm32 -> r/m */
		if ((m >> 3) & 7)
			return INSN_UNKNOWN;
		if (i + 1 + ml + 4 > avail)
			return INSN_UNKNOWN;
		if ((m >> 6) == 3)
			*writes = (int)(((rex & 1) << 3) | (m & 7));
		*len = i + 1 + ml + 4;
		return INSN_PLAIN;
	default:
		return INSN_UNKNOWN;
	}
	*len = i + 1 + ml;
	return INSN_PLAIN;
}

#define SPAWN_WALK_INSNS	6

/*
 * From the instruction after the xadd, the first the kernel emulates
 * while the Id is still in its register; else that first instruction
 * (single-stepped). Returns the offset into buf, *emulated set.
 */
static size_t spawn_probe_at(const unsigned char *buf, size_t len, size_t after, uint32_t reg,
			     bool *emulated)
{
	size_t at = after, n;
	int k, writes;

	*emulated = false;
	for (k = 0; k < SPAWN_WALK_INSNS && at < len; k++) {
		enum insn_kind kind = decode_insn(buf + at, len - at, &n, &writes);

		if (kind == INSN_EMULATED) {
			*emulated = true;
			return at;
		}
		if (kind == INSN_UNKNOWN || writes == (int)reg)
			break;
		at += n;
	}
	return after;
}

static int add_spawn_site(const struct elf_ctx *ec, struct runtime_binary *tb, size_t *cap,
			  const unsigned char *buf, size_t len, uint64_t base, size_t after_off,
			  uint32_t reg)
{
	struct spawn_site *ss;
	bool emulated;
	uint64_t after = base + spawn_probe_at(buf, len, after_off, reg, &emulated);
	size_t i;

	for (i = 0; i < tb->nspawn_sites; i++)
		if (tb->spawn_sites[i].vaddr == after)
			return 0;
	if (tb->nspawn_sites >= TS_MAX_SPAWN_SITES)
		return 0;
	ss = ts_array_add(&tb->spawn_sites, &tb->nspawn_sites, cap);
	if (!ss)
		return -ENOMEM;
	ss->vaddr = after;
	ss->reg = reg;
	ss->emulated = emulated;
	if (vaddr_to_off(ec, after, &ss->file_off, NULL))
		tb->nspawn_sites--;
	return 0;
}

/*
 * The `lock xadd` that takes a task Id in code at vaddr base (len bytes
 * in buf, i the candidate): into [rip + disp32] naming the counter, or
 * into [reg] right after `mov reg, [rip + GOT slot of the counter]` (a
 * PIE reaches an exported static through the GOT). Adds the site after it.
 */
static int match_spawn(const struct elf_ctx *ec, struct runtime_binary *tb, size_t *cap,
		       const unsigned char *buf, size_t len, size_t i, uint64_t base,
		       const uint64_t *slots, size_t nslots)
{
	unsigned char rex = buf[i], modrm;
	uint32_t loaded;
	int32_t disp;
	size_t j;

	/* direct: f0 REX.W 0f c1 ModRM(mod 00, rm 101) disp32 */
	if (buf[i] == 0xf0 && i + XADD_RIP_LEN <= len && (buf[i + 1] & 0xfb) == 0x48 &&
	    buf[i + 2] == 0x0f && buf[i + 3] == 0xc1 && (buf[i + 4] & 0xc7) == 0x05) {
		memcpy(&disp, buf + i + 5, sizeof(disp));
		if (base + i + XADD_RIP_LEN + (int64_t)disp == tb->next_task_id_vaddr)
			return add_spawn_site(ec, tb, cap, buf, len, base, i + XADD_RIP_LEN,
					      (uint32_t)(((buf[i + 1] & 4) << 1) |
							 ((buf[i + 4] >> 3) & 7)));
		return 0;
	}
	/* through the GOT: REX.W 8b ModRM(mod 00, rm 101) disp32, then the xadd */
	if (!nslots || (rex & 0xfb) != 0x48 || i + GOT_LOAD_LEN > len || buf[i + 1] != 0x8b ||
	    (buf[i + 2] & 0xc7) != 0x05)
		return 0;
	memcpy(&disp, buf + i + 3, sizeof(disp));
	if (!is_got_slot(slots, nslots, base + i + GOT_LOAD_LEN + (int64_t)disp))
		return 0;
	loaded = (uint32_t)(((rex & 4) << 1) | ((buf[i + 2] >> 3) & 7));
	for (j = i + GOT_LOAD_LEN; j + XADD_REG_LEN <= len && j < i + GOT_LOAD_LEN + GOT_TO_XADD_MAX;
	     j++) {
		unsigned char xr = buf[j + 1];

		modrm = buf[j + 4];
		/* mod 00 with a plain base register: rm 100 needs a SIB, 101 is rip */
		if (buf[j] != 0xf0 || (xr & 0xf8) != 0x48 || !(xr & 8) || buf[j + 2] != 0x0f ||
		    buf[j + 3] != 0xc1 || (modrm >> 6) || (modrm & 7) == 4 || (modrm & 7) == 5 ||
		    (uint32_t)(((xr & 1) << 3) | (modrm & 7)) != loaded)
			continue;
		return add_spawn_site(ec, tb, cap, buf, len, base, j + XADD_REG_LEN,
				      (uint32_t)(((xr & 4) << 1) | ((modrm >> 3) & 7)));
	}
	return 0;
}

/*
 * tokio's Id::next is `NEXT_ID.fetch_add(1, Relaxed)`, inlined at every
 * spawn in an optimised build as a `lock xadd` into the counter. A byte
 * scan of the executable segment finds them (match_spawn): only an
 * instruction whose operand lands exactly on NEXT_ID, directly or through
 * its GOT slot, counts, which stray bytes inside other instructions
 * practically never do. Why not a disassembler: two fixed encodings are
 * all there is to match. A debug build (opt-level 0) calls fetch_add out
 * of line and has no such site: no parents there.
 */
static int find_spawn_sites(const struct elf_ctx *ec, int fd, struct runtime_binary *tb)
{
	uint64_t lo, hi, at, *slots = NULL;
	size_t cap = 0, nslots = 0, i, slots_cap = 0;
	unsigned char *buf;
	int err = 0;

	if (!tb->next_task_id_vaddr)
		return 0;
	for (i = 0; i < ec->nrelocs; i++) {
		uint64_t *s;

		if (ec->relocs[i].target != tb->next_task_id_vaddr)
			continue;
		s = ts_array_add(&slots, &nslots, &slots_cap);
		if (!s) {
			free(slots);
			return -ENOMEM;
		}
		*s = ec->relocs[i].where;
	}
	text_range(ec, &lo, &hi);
	/* the bytes the file holds, at most SPAWN_SCAN_MAX: a header can claim 2^64 */
	if (text_file_end(ec, lo) < hi)
		hi = text_file_end(ec, lo);
	if (hi - lo > SPAWN_SCAN_MAX)
		hi = lo + SPAWN_SCAN_MAX;
	buf = malloc(SPAWN_SCAN_CHUNK + SPAWN_SCAN_SLACK);
	if (!buf) {
		free(slots);
		return -ENOMEM;
	}
	for (at = lo; at < hi && !err; at += SPAWN_SCAN_CHUNK) {
		size_t len = hi - at < SPAWN_SCAN_CHUNK + SPAWN_SCAN_SLACK ? hi - at :
			     SPAWN_SCAN_CHUNK + SPAWN_SCAN_SLACK;

		while (len >= XADD_RIP_LEN && read_vaddr(ec, fd, at, buf, len))
			len /= 2;
		if (len < XADD_RIP_LEN)
			break;	/* nothing readable here: nothing further either */
		for (i = 0; !err && i + XADD_REG_LEN <= len && i < SPAWN_SCAN_CHUNK; i++)
			err = match_spawn(ec, tb, &cap, buf, len, i, at, slots, nslots);
	}
	free(buf);
	free(slots);
	return err;
}

/*
 * A stripped tokio binary (the version string survives strip): find the
 * task vtables by shape and take poll and dealloc from their slots. The
 * memory scan then validates them against the live process: a header
 * holding one of them, with a plausible state word, is a task.
 */
static int find_vtables_by_shape(struct elf_ctx *ec, int fd, struct runtime_binary *tb)
{
	const struct task_vtable_slots *slots = &tb->desc->vtable;
	struct shape_ctx ctx = { ec, fd };
	struct reloc_word *words = NULL;
	struct shaped_vtable *found = NULL;
	uint64_t lo, hi;
	size_t i, n, nfound;
	int err = 0;

	text_range(ec, &lo, &hi);
	if (!ec->nrelocs || hi <= lo || slots->size != 8 * (TOKIO_VT_NFNS + 3) ||
	    slots->poll / 8 >= TOKIO_VT_NFNS || slots->dealloc / 8 >= TOKIO_VT_NFNS ||
	    slots->naming / 8 >= TOKIO_VT_NFNS)
		return 0;	/* a layout the shape search does not know */
	words = calloc(ec->nrelocs, sizeof(*words));
	if (!words)
		return -ENOMEM;
	for (i = 0; i < ec->nrelocs; i++) {
		words[i].where = ec->relocs[i].where;
		words[i].target = ec->relocs[i].target;
	}
	n = tokio_vtables_by_shape(words, ec->nrelocs, lo, hi, shape_read_word, &ctx, NULL, 0);
	if (!n)
		goto out;
	found = calloc(n, sizeof(*found));
	tb->vtables = calloc(n, sizeof(*tb->vtables));
	tb->polls = calloc(n, sizeof(*tb->polls));
	tb->deallocs = calloc(n, sizeof(*tb->deallocs));
	if (!found || !tb->vtables || !tb->polls || !tb->deallocs) {
		err = -ENOMEM;
		goto out;
	}
	nfound = tokio_vtables_by_shape(words, ec->nrelocs, lo, hi, shape_read_word, &ctx,
					found, n);
	for (i = 0; i < nfound && i < n; i++) {
		struct elf_func poll = { .vaddr = found[i].fns[slots->poll / 8] };
		struct elf_func dealloc = { .vaddr = found[i].fns[slots->dealloc / 8] };

		if (vaddr_to_off(ec, poll.vaddr, &poll.file_off, NULL) ||
		    vaddr_to_off(ec, dealloc.vaddr, &dealloc.file_off, NULL))
			continue;
		tb->polls[tb->npolls].fn = poll;
		snprintf(tb->polls[tb->npolls].name, sizeof(tb->polls[0].name),
			 "<future at 0x%" PRIx64 ">", poll.vaddr);
		tb->npolls++;
		tb->deallocs[tb->ndeallocs++] = dealloc;
	}
	qsort(tb->polls, tb->npolls, sizeof(*tb->polls), cmp_poll);
	dedup_polls(tb);
	dedup_funcs(tb->deallocs, &tb->ndeallocs);
	for (i = 0; i < nfound && i < n; i++) {
		struct task_vtable *vt = &tb->vtables[tb->nvtables];

		vt->poll_idx = runtime_binary__poll_index(tb, found[i].fns[slots->poll / 8]);
		if (vt->poll_idx < 0)
			continue;
		vt->vaddr = found[i].vaddr;
		vt->dealloc_vaddr = found[i].fns[slots->dealloc / 8];
		vt->naming_vaddr = found[i].fns[slots->naming / 8];
		vt->trailer_offset = found[i].trailer_offset;
		vt->scheduler_offset = found[i].scheduler_offset;
		vt->id_offset = found[i].id_offset;
		tb->nvtables++;
	}
	qsort(tb->vtables, tb->nvtables, sizeof(*tb->vtables), cmp_vtable);
	tb->found_by_shape = tb->nvtables > 0;
out:
	free(found);
	free(words);
	return err;
}

/* Does [off, off + n * entsize) lie in the file? */
static bool table_in_file(const struct elf_ctx *ec, uint64_t off, size_t n, size_t entsize)
{
	return entsize && off <= ec->file_size && n <= (ec->file_size - off) / entsize;
}

/*
 * The program and section header tables must lie in the file. libelf
 * reads a section header table cut off by truncation as no sections at
 * all (elf_getshdrnum says 0), which would read as "no runtime" instead
 * of a damaged file: the counts checked are the header's own, unless
 * they overflowed into section 0 (PN_XNUM, e_shnum 0).
 */
static int check_header_tables(struct elf_ctx *ec)
{
	size_t nshdrs, nphdrs;
	GElf_Ehdr eh;

	if (!gelf_getehdr(ec->elf, &eh) || elf_getphdrnum(ec->elf, &ec->nphdrs) ||
	    elf_getshdrnum(ec->elf, &nshdrs))
		return -ENOEXEC;
	nphdrs = eh.e_phnum == PN_XNUM ? ec->nphdrs : eh.e_phnum;
	if (eh.e_shnum)
		nshdrs = eh.e_shnum;
	if (nphdrs != ec->nphdrs ||
	    !table_in_file(ec, eh.e_phoff, nphdrs, gelf_fsize(ec->elf, ELF_T_PHDR, 1, EV_CURRENT)) ||
	    !table_in_file(ec, eh.e_shoff, nshdrs, gelf_fsize(ec->elf, ELF_T_SHDR, 1, EV_CURRENT)))
		return -ENOEXEC;
	return 0;
}

int runtime_binary__load(struct runtime_binary *tb, const char *path)
{
	struct elf_ctx ec = {};
	struct stat st;
	size_t i;
	int fd, err;

	memset(tb, 0, sizeof(*tb));
	snprintf(tb->path, sizeof(tb->path), "%s", path);
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	ec.file_size = (uint64_t)st.st_size;
	ec.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!ec.elf || elf_kind(ec.elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = check_header_tables(&ec);
	if (err)
		goto cleanup;
	ec.phdrs = calloc(ec.nphdrs ? ec.nphdrs : 1, sizeof(*ec.phdrs));
	if (!ec.phdrs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < ec.nphdrs; i++) {
		const GElf_Phdr *ph = &ec.phdrs[i];

		/* file offsets of probe sites come from these: they must lie in the file */
		if (!gelf_getphdr(ec.elf, (int)i, &ec.phdrs[i]) ||
		    (ph->p_type == PT_LOAD && (ph->p_offset > ec.file_size ||
					       ph->p_filesz > ec.file_size - ph->p_offset))) {
			err = -ENOEXEC;
			goto cleanup;
		}
	}

	err = collect(&ec, tb);
	if (err)
		goto cleanup;
	dedup_polls(tb);
	dedup_funcs(tb->deallocs, &tb->ndeallocs);
	dedup_funcs(tb->wakes, &tb->nwakes);
	if (!tb->npolls && !tb->nusdt && !tb->has_symtab && tb->runtime == TS_RT_TOKIO &&
	    tb->version[0]) {
		err = find_vtables_by_shape(&ec, fd, tb);
		if (err)
			goto cleanup;
		if (tb->found_by_shape)
			goto cleanup;	/* named by address; DWARF may name them later */
	}
	if (!tb->npolls && !tb->nusdt) {
		err = -ESRCH;
		goto cleanup;
	}
	err = find_vtables(&ec, fd, tb);
	if (!err && tb->runtime == TS_RT_TOKIO)
		err = find_spawn_sites(&ec, fd, tb);
cleanup:
	free(ec.syms);
	free(ec.relocs);
	free(ec.phdrs);
	if (ec.elf)
		elf_end(ec.elf);
	close(fd);
	if (err && err != -ESRCH)
		runtime_binary__free(tb);
	return err;
}

void runtime_binary__free(struct runtime_binary *tb)
{
	free(tb->polls);
	free(tb->deallocs);
	free(tb->wakes);
	free(tb->vtables);
	free(tb->usdt);
	free(tb->spawn_sites);
	tb->spawn_sites = NULL;
	tb->nspawn_sites = 0;
	tb->usdt = NULL;
	tb->nusdt = 0;
	tb->polls = NULL;
	tb->deallocs = NULL;
	tb->wakes = NULL;
	tb->vtables = NULL;
	tb->npolls = tb->ndeallocs = tb->nwakes = tb->nvtables = 0;
}

int runtime_binary__poll_index(const struct runtime_binary *tb, uint64_t vaddr)
{
	size_t lo = TS_LOWER_BOUND(tb->polls, tb->npolls, fn.vaddr, vaddr);

	return lo < tb->npolls && tb->polls[lo].fn.vaddr == vaddr ? (int)lo : -1;
}
