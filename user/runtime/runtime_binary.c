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
#include "runtime_binary.h"

/*
 * Task vtables: where the probed instance, the dealloc instance, the
 * instance whose drop glue names the future type, and the offsets are.
 *
 * tokio 1.24 `raw::Vtable` is not #[repr(C)], but all ten fields are
 * pointer-sized and rustc keeps declaration order for equal alignment:
 * poll, schedule, dealloc, try_read_output, drop_join_handle_slow,
 * drop_abort_handle, shutdown, trailer_offset, scheduler_offset,
 * id_offset. async-task 4.x `TaskVTable`: schedule, drop_future,
 * get_output, drop_ref, destroy, run, clone_waker, layout_info (checked
 * against DWARF of a rustc 1.95 build). Each vtable found is checked (its
 * dealloc slot must point at a dealloc instance) so a reordering is
 * detected, not trusted.
 */
struct vtable_shape {
	uint32_t probe_slot;	/* raw::poll / RawTask::run */
	uint32_t dealloc_slot;	/* raw::dealloc / RawTask::destroy */
	uint32_t naming_slot;	/* its drop glue names the future type */
	bool has_offsets;	/* tokio: trailer, scheduler, id offsets follow */
};

static const struct vtable_shape vt_shapes[] = {
	[TS_RT_TOKIO] = { .probe_slot = 0, .dealloc_slot = 16, .naming_slot = 16,
			  .has_offsets = true },
	[TS_RT_ASYNC_TASK] = { .probe_slot = 0x28, .dealloc_slot = 0x20, .naming_slot = 0x08 },
};

#define VT_TRAILER_OFFSET	56

static const struct task_layout layouts[] = {
	[TS_RT_TOKIO] = { .hdr_state_off = 0, .hdr_vtable_off = 16, .hdr_size = 32,
			  .ref_shift = 6, .hdr_owner_off = 24, .running = 1, .complete = 2, .notified = 4 },
	[TS_RT_ASYNC_TASK] = { .hdr_state_off = 8, .hdr_vtable_off = 0, .hdr_size = 16,
			       .ref_shift = 8, .running = 2, .complete = 4, .notified = 1 },
};

/* The probe points of one runtime, as found in the symbol table. */
struct runtime_fns {
	struct task_poll_fn *polls;
	size_t npolls;
	struct elf_func *deallocs, *wakes;
	size_t ndeallocs, nwakes;
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

static void name_runtime(Elf_Data *rodata, struct runtime_binary *tb)
{
	static const char *const async_task_fronts[] = { "async-std", "smol" };
	size_t i;

	if (tb->runtime == TS_RT_TOKIO) {
		snprintf(tb->runtime_name, sizeof(tb->runtime_name), "tokio");
		if (rodata)
			find_version(rodata, "tokio", tb->version, sizeof(tb->version));
		return;
	}
	snprintf(tb->runtime_name, sizeof(tb->runtime_name), "async-task");
	if (!rodata)
		return;
	for (i = 0; i < sizeof(async_task_fronts) / sizeof(async_task_fronts[0]); i++) {
		if (find_version(rodata, async_task_fronts[i], tb->version, sizeof(tb->version))) {
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
		strcat(tb->version, " (async-executor)");
		return;
	}
	find_version(rodata, "async-task", tb->version, sizeof(tb->version));
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

static int push_poll(struct runtime_fns *rf, const struct elf_func *f)
{
	struct task_poll_fn *nv = realloc(rf->polls, (rf->npolls + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	rf->polls = nv;
	memset(&nv[rf->npolls], 0, sizeof(*nv));
	nv[rf->npolls++].fn = *f;
	return 0;
}

/* `async_task::raw::RawTask<F,T,S>::run` and friends: "run", "wake", … or NULL. */
static const char *async_task_method(const char *dm)
{
	const char *p;

	if (strncmp(dm, "async_task::raw::RawTask<", 25) &&
	    strncmp(dm, "<async_task::raw::RawTask<", 26))
		return NULL;
	p = strrchr(dm, ':');
	return p ? p + 1 : NULL;
}

/* Sorts one function into the probe sets of its runtime, if it is one. */
static int classify(const char *dm, const struct elf_func *f, struct runtime_fns rf[2])
{
	const char *m;

	if (ts_name_is(dm, "tokio::runtime::task::raw::poll"))
		return push_poll(&rf[TS_RT_TOKIO], f);
	if (ts_name_is(dm, "tokio::runtime::task::raw::dealloc"))
		return push_func(&rf[TS_RT_TOKIO].deallocs, &rf[TS_RT_TOKIO].ndeallocs, f);
	if (ts_name_is(dm, "tokio::runtime::task::waker::wake_by_val") ||
	    ts_name_is(dm, "tokio::runtime::task::waker::wake_by_ref"))
		return push_func(&rf[TS_RT_TOKIO].wakes, &rf[TS_RT_TOKIO].nwakes, f);
	m = async_task_method(dm);
	if (!m)
		return 0;
	if (!strcmp(m, "run"))
		return push_poll(&rf[TS_RT_ASYNC_TASK], f);
	if (!strcmp(m, "destroy"))
		return push_func(&rf[TS_RT_ASYNC_TASK].deallocs,
				 &rf[TS_RT_ASYNC_TASK].ndeallocs, f);
	if (!strcmp(m, "wake") || !strcmp(m, "wake_by_ref"))
		return push_func(&rf[TS_RT_ASYNC_TASK].wakes, &rf[TS_RT_ASYNC_TASK].nwakes, f);
	return 0;
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
	struct runtime_fns rf[2] = {};
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
			rodata = data;
		} else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.stapsdt")) {
			stapsdt = elf_getdata(scn, NULL);
		} else if (!strcmp(name, ".stapsdt.base")) {
			stapsdt_base = sh.sh_addr;
		} else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.gnu.build-id") &&
			   (data = elf_getdata(scn, NULL))) {
			read_build_id(data, tb->build_id, sizeof(tb->build_id));
		} else if (sh.sh_type == SHT_RELA &&
			   /* one entry at least: realloc(p, 0) frees p, returns NULL */
			   sh.sh_size >= sizeof(Elf64_Rela) && (data = elf_getdata(scn, NULL))) {
			size_t n = sh.sh_size / sizeof(Elf64_Rela), k;
			struct reloc_ent *nv;

			nv = realloc(ec->relocs, (ec->nrelocs + n) * sizeof(*nv));
			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
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
		goto out;

	{
		Elf_Data *data = elf_getdata(symscn, NULL);
		size_t ent = gelf_fsize(ec->elf, ELF_T_SYM, 1, EV_CURRENT);
		/*
		 * Count what the section's bytes in the file hold, not what its
		 * header claims: a corrupt sh_size asked calloc for 1.4 TB.
		 */
		size_t n = data && ent && symsh.sh_entsize ? data->d_size / ent : 0;

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
			    (nm = elf_strptr(ec->elf, symsh.sh_link, s.st_name)) &&
			    strstr(nm, "NEXT_ID") && strstr(nm, "tokio")) {
				char dm[256];

				ts_demangle(nm, dm, sizeof(dm));
				if (ts_name_is(dm, "tokio::runtime::task::id::Id::next::NEXT_ID"))
					tb->next_task_id_vaddr = s.st_value;
			}
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
			if (!strstr(nm, "tokio") && !strstr(nm, "async_task"))
				continue;
			{
				char dm[1024];
				struct elf_func f = { .vaddr = s.st_value, .size = s.st_size };

				ts_demangle(nm, dm, sizeof(dm));
				if (vaddr_to_off(ec, f.vaddr, &f.file_off, NULL))
					continue;
				err = classify(dm, &f, rf);
				if (err)
					goto out;
			}
		}
	}
	/* qsort's array must not be NULL, even for 0 elements (UBSan) */
	if (ec->nsyms)
		qsort(ec->syms, ec->nsyms, sizeof(*ec->syms), cmp_sym);
	if (ec->nrelocs)
		qsort(ec->relocs, ec->nrelocs, sizeof(*ec->relocs), cmp_reloc);
	if (stapsdt && !err)
		err = read_usdt_sites(ec, stapsdt, stapsdt_base, tb);
out:
	/* a binary holding both is observed as tokio, the more common one */
	rt = rf[TS_RT_TOKIO].npolls || !rf[TS_RT_ASYNC_TASK].npolls ? TS_RT_TOKIO
								    : TS_RT_ASYNC_TASK;
	if (!rf[TS_RT_TOKIO].npolls && !rf[TS_RT_ASYNC_TASK].npolls && tb->nusdt) {
		/* only our probes: tasks, polls and wakes all come from them */
		tb->runtime = TS_RT_USDT;
		snprintf(tb->runtime_name, sizeof(tb->runtime_name), "usdt");
		snprintf(tb->version, sizeof(tb->version), "abi %d", 1);
		runtime_fns__free(&rf[0]);
		runtime_fns__free(&rf[1]);
		return err;
	}
	tb->runtime = (enum ts_runtime)rt;
	tb->layout = layouts[rt];
	tb->polls = rf[rt].polls;
	tb->npolls = rf[rt].npolls;
	tb->deallocs = rf[rt].deallocs;
	tb->ndeallocs = rf[rt].ndeallocs;
	tb->wakes = rf[rt].wakes;
	tb->nwakes = rf[rt].nwakes;
	memset(&rf[rt], 0, sizeof(rf[rt]));
	runtime_fns__free(&rf[!rt]);
	name_runtime(rodata, tb);
	return err;
}

/* Aliases (same address, several names) must be probed once. */
static void dedup_polls(struct runtime_binary *tb)
{
	size_t i, o = 0;

	if (tb->npolls)
		qsort(tb->polls, tb->npolls, sizeof(*tb->polls), cmp_poll);
	for (i = 0; i < tb->npolls; i++)
		if (!o || tb->polls[o - 1].fn.vaddr != tb->polls[i].fn.vaddr)
			tb->polls[o++] = tb->polls[i];
	tb->npolls = o;
}

static void dedup_funcs(struct elf_func *v, size_t *n)
{
	size_t i, o = 0;

	if (*n)
		qsort(v, *n, sizeof(*v), cmp_func);
	for (i = 0; i < *n; i++)
		if (!o || v[o - 1].vaddr != v[i].vaddr)
			v[o++] = v[i];
	*n = o;
}

static bool is_dealloc(const struct runtime_binary *tb, uint64_t vaddr)
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

/* Strips the wrappers async-std and smol put around a spawned future. */
static void unwrap_spawned(const char *type, char *out, size_t len)
{
	static const char *const wrappers[] = {
		"async_executor::Executor::spawn<", "async_executor::LocalExecutor::spawn<",
		"async_std::task::builder::SupportTaskLocals<",
	};
	char buf[512];
	size_t i;
	bool again = true;

	snprintf(buf, sizeof(buf), "%s", type);
	while (again) {
		again = false;
		for (i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
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

/*
 * Without debuginfo a legacy-mangled raw::poll symbol names no type, but
 * raw::dealloc<T, S> begins by calling drop_in_place<Cell<T, S>> (tokio),
 * and RawTask::drop_future calls drop_in_place<F> (async-task), whose
 * symbols do: decode the first direct call that lands on such a symbol.
 */
static void name_from_drop_glue(const struct elf_ctx *ec, int fd, enum ts_runtime rt,
				uint64_t fn, struct task_poll_fn *p)
{
	const struct sym_ent *self = sym_at(ec, fn);
	unsigned char code[96];
	size_t i, len = sizeof(code);

	/*
	 * Not past the function's end: drop glue of a future with nothing to
	 * drop calls nothing, and the next function's call named it wrongly.
	 */
	if (self && self->size && self->size < len)
		len = self->size;
	if (read_vaddr(ec, fd, fn, code, len))
		return;
	for (i = 0; i + 5 <= len; i++) {
		const struct sym_ent *s;
		int32_t rel;
		char dm[2048], ty[512];

		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, code + i + 1, sizeof(rel));
		s = sym_at(ec, fn + i + 5 + (int64_t)rel);
		if (!s)
			continue;
		ts_demangle(s->name, dm, sizeof(dm));
		if (rt == TS_RT_TOKIO) {
			if (!ts_cell_future_type(dm, p->future_type, sizeof(p->future_type)))
				continue;
		} else {
			if (!ts_drop_glue_type(dm, ty, sizeof(ty)))
				continue;
			unwrap_spawned(ty, p->future_type, sizeof(p->future_type));
		}
		ts_readable_future_name(p->future_type, p->name, sizeof(p->name));
		p->blocking = !strncmp(p->future_type, "tokio::runtime::blocking::task::BlockingTask<",
				       strlen("tokio::runtime::blocking::task::BlockingTask<"));
		return;
	}
}

static int find_vtables(struct elf_ctx *ec, int fd, struct runtime_binary *tb)
{
	const struct vtable_shape *shape = &vt_shapes[tb->runtime];
	size_t i, k;

	for (k = 0; k < ec->nrelocs; k++) {
		const struct reloc_ent *r = &ec->relocs[k], *d, *nm;
		struct task_vtable vt = {}, *nv;
		uint64_t words[3];
		int idx;

		idx = runtime_binary__poll_index(tb, r->target);
		if (idx < 0 || r->where < shape->probe_slot)
			continue;
		vt.vaddr = r->where - shape->probe_slot;
		d = reloc_at(ec, vt.vaddr + shape->dealloc_slot);
		if (!d || !is_dealloc(tb, d->target))
			continue;	/* not a task vtable, or a layout we don't know */
		nm = reloc_at(ec, vt.vaddr + shape->naming_slot);
		vt.poll_idx = idx;
		vt.dealloc_vaddr = d->target;
		vt.naming_vaddr = nm ? nm->target : 0;
		if (shape->has_offsets) {
			if (read_vaddr(ec, fd, vt.vaddr + VT_TRAILER_OFFSET, words, sizeof(words)))
				continue;
			vt.trailer_offset = words[0];
			vt.scheduler_offset = words[1];
			vt.id_offset = words[2];
		}
		nv = realloc(tb->vtables, (tb->nvtables + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		tb->vtables = nv;
		tb->vtables[tb->nvtables++] = vt;
	}
	if (tb->nvtables)
		qsort(tb->vtables, tb->nvtables, sizeof(*tb->vtables), cmp_vtable);
	for (i = 0; i < tb->nvtables; i++) {
		struct task_poll_fn *p = &tb->polls[tb->vtables[i].poll_idx];

		if (!p->name[0] && tb->vtables[i].naming_vaddr)
			name_from_drop_glue(ec, fd, tb->runtime, tb->vtables[i].naming_vaddr, p);
		/* one dealloc<T, S> serving two vtables was folded from two T */
		for (k = 0; k < tb->nvtables; k++)
			if (k != i && tb->vtables[k].naming_vaddr == tb->vtables[i].naming_vaddr &&
			    tb->vtables[k].poll_idx != tb->vtables[i].poll_idx)
				p->name_ambiguous = true;
	}
	return 0;
}

int runtime_binary__load(struct runtime_binary *tb, const char *path)
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
	dedup_funcs(tb->wakes, &tb->nwakes);
	if (!tb->npolls && !tb->nusdt) {
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
