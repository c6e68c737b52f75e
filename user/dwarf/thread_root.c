// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A thread's block_on future, found on its stack: see thread_root.h. */
#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "demangle.h"
#include "dwarf_walk.h"
#include "elf_symtab.h"
#include "procfs.h"
#include "thread_root.h"

#define STACK_READ_MAX	(512u << 10)	/* from the stack pointer up: deep parks fit */
#define FRAME_SEARCH	(64u << 10)	/* above a block_on return address */
#define MAX_ANCHORS	8
#define MAX_WALKS	48		/* candidate values whose chain is read */
#define PC_SLOTS	4096		/* verdicts kept per binary, by return address */

struct anchor {
	uint64_t slot;			/* stack address of the return address */
	Dwarf_Off f_type;		/* block_on's F */
	char executor[192];
};

struct pc_verdict {
	uint64_t pc;
	bool by_symbol;			/* the symbol pass's verdict, not DWARF scopes' */
	bool used;
	bool block_on;
	Dwarf_Off f_type;
	char executor[192];
};

int ts_parse_proc_syscall(const char *line, uint64_t *sp, uint64_t *pc)
{
	char buf[512], *tok[16], *save = NULL, *t;
	int n = 0;

	if (!strncmp(line, "running", 7))
		return -EBUSY;
	snprintf(buf, sizeof(buf), "%s", line);
	for (t = strtok_r(buf, " \t\n", &save); t && n < 16; t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	/* "NR A1 A2 A3 A4 A5 A6 SP PC" in a syscall, "-1 SP PC" blocked outside one */
	if (n != 9 && !(n == 3 && !strcmp(tok[0], "-1")))
		return -EINVAL;
	if (strncmp(tok[n - 2], "0x", 2) || strncmp(tok[n - 1], "0x", 2))
		return -EINVAL;
	*sp = strtoull(tok[n - 2], NULL, 16);
	*pc = strtoull(tok[n - 1], NULL, 16);
	return *sp ? 0 : -EINVAL;
}

void ts_thread_root_name(const char *func, const char *comm, bool main_thread, char *out,
			 size_t len)
{
	const char *rest = strstr(func, "::");

	rest = rest ? rest + 2 : func;
	if (comm[0] && !strncmp(rest, comm, strlen(comm)) && strlen(comm) >= 4)
		snprintf(out, len, "%s", rest);
	else if (main_thread)
		snprintf(out, len, "main");
	else
		snprintf(out, len, "%s", comm[0] ? comm : rest);
}

static int read_stack_pointer(pid_t pid, pid_t tid, uint64_t *sp)
{
	char path[64], line[512];
	uint64_t pc;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = fgets(line, sizeof(line), f) ? ts_parse_proc_syscall(line, sp, &pc) : -EIO;
	fclose(f);
	return err;
}

static int stack_end(pid_t pid, uint64_t sp, uint64_t *end)
{
	struct proc_maps maps = {};
	size_t i;
	int err;

	err = proc_maps__read(pid, &maps);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < maps.n; i++) {
		if (sp >= maps.v[i].start && sp < maps.v[i].end) {
			*end = maps.v[i].end;
			err = 0;
			break;
		}
	}
	proc_maps__free(&maps);
	return err;
}

/*
 * The thread's stack from sp up, at most max bytes, into *words (freed by
 * the caller, also on error). Returns the bytes read (> 0), or -errno.
 */
static ssize_t read_stack(pid_t pid, uint64_t sp, size_t max, uint64_t **words)
{
	uint64_t end;
	size_t len;
	ssize_t got;
	int err;

	*words = NULL;
	err = stack_end(pid, sp, &end);
	if (err)
		return err;
	len = end - sp > max ? max : end - sp;
	len &= ~(size_t)7;
	*words = malloc(len ? len : 8);
	if (!*words)
		return -ENOMEM;
	got = proc_read_mem(pid, sp, *words, len);
	if (got <= 0)
		return got < 0 ? got : -EFAULT;
	return got;
}

/* The DIE that carries a scope's name: through abstract origins and declarations. */
static bool named_die(Dwarf_Die *scope, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	int i;

	*out = *scope;
	for (i = 0; i < 4 && !dwarf_hasattr(out, DW_AT_name); i++) {
		if (!(dwarf_attr(out, DW_AT_abstract_origin, &a) ||
		      dwarf_attr(out, DW_AT_specification, &a)) ||
		    !dwarf_formref_die(&a, out))
			return false;
	}
	return dwarf_hasattr(out, DW_AT_name);
}

struct func_sym {
	uint64_t addr, size;
	const char *name;	/* mangled, in the ELF's string table */
};

/* Per binary, kept in ts_dwarf: threads and snapshots share return addresses. */
struct func_syms {
	struct func_sym *v;
	size_t n, cap;
	uint64_t text_lo, text_hi;	/* executable segments, ELF vaddrs */
	struct pc_verdict *slots;	/* PC_SLOTS, open addressing */
	size_t nslots_used;
};

static int keep_func(void *ctx, const GElf_Sym *sym, const char *name)
{
	struct func_syms *fs = ctx;
	struct func_sym *f;

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_value || !sym->st_size ||
	    strncmp(name, "_ZN", 3))
		return 0;	/* Rust functions only: legacy-mangled */
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 1024;
		struct func_sym *nv = realloc(fs->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		fs->v = nv;
		fs->cap = cap;
	}
	f = &fs->v[fs->n++];
	f->addr = sym->st_value;
	f->size = sym->st_size;
	f->name = name;
	return 0;
}

static int cmp_func_sym(const void *a, const void *b)
{
	const struct func_sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static const struct func_sym *func_sym_at(const struct func_syms *fs, uint64_t pc)
{
	/* the last symbol starting at or before pc */
	size_t lo = pc == UINT64_MAX ? fs->n : TS_LOWER_BOUND(fs->v, fs->n, addr, pc + 1);

	if (lo == 0 || pc >= fs->v[lo - 1].addr + fs->v[lo - 1].size)
		return NULL;
	return &fs->v[lo - 1];
}

/* What the binary's executable segments span: a return address is in there. */
static void text_range(Elf *elf, uint64_t *lo, uint64_t *hi)
{
	size_t i, nph = 0;
	GElf_Phdr ph;

	*lo = UINT64_MAX;
	*hi = 0;
	if (elf_getphdrnum(elf, &nph))
		return;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (ph.p_vaddr < *lo)
			*lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > *hi)
			*hi = ph.p_vaddr + ph.p_memsz;
	}
}

/* The binary's Rust functions by address and the verdicts so far, built once. */
static struct func_syms *root_cache(struct ts_dwarf *dw)
{
	struct func_syms *fs = dw->func_syms;

	if (fs)
		return fs;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->slots = calloc(PC_SLOTS, sizeof(*fs->slots));
	if (!fs->slots) {
		free(fs);
		return NULL;
	}
	if (elf_symtab__each(dw->elf, keep_func, fs) == 0)
		qsort(fs->v, fs->n, sizeof(*fs->v), cmp_func_sym);
	else
		fs->n = 0;
	text_range(dw->elf, &fs->text_lo, &fs->text_hi);
	if (fs->text_lo >= fs->text_hi) {	/* no program headers: any address */
		fs->text_lo = 0;
		fs->text_hi = UINT64_MAX;
	}
	dw->func_syms = fs;
	return fs;
}

void thread_root__free(struct ts_dwarf *dw)
{
	if (dw->func_syms) {
		free(dw->func_syms->v);
		free(dw->func_syms->slots);
		free(dw->func_syms);
		dw->func_syms = NULL;
	}
}

/* The verdict slot for (pc, pass): a used one to read, or a free one to fill; NULL when full. */
static struct pc_verdict *verdict_slot(struct func_syms *fs, uint64_t pc, bool by_symbol)
{
	size_t h = (size_t)((pc * 0x9e3779b97f4a7c15ULL + by_symbol) >> 52) % PC_SLOTS, k;

	for (k = 0; k < PC_SLOTS; k++) {
		struct pc_verdict *v = &fs->slots[(h + k) % PC_SLOTS];

		if (!v->used || (v->pc == pc && v->by_symbol == by_symbol))
			return v;
	}
	return NULL;
}

/*
 * Without DWARF scopes at pc (LTO can leave a function that inlined
 * block_on with no subprogram DIE over that code): the function's symbol
 * names the fn, and an `async { }` body written in it (what
 * #[tokio::main] and #[tokio::test] expand to) is the type
 * `<fn>::{async_block_env#0}`. Runtime and std code never holds one.
 */
static void classify_by_symbol(struct ts_dwarf *dw, const struct func_syms *fs, uint64_t pc,
			       struct pc_verdict *v)
{
	const struct func_sym *f = func_sym_at(fs, pc);
	char fn[512], qname[600];

	memset(v, 0, sizeof(*v));
	if (!f || !ts_demangle(f->name, fn, sizeof(fn)))
		return;
	if (!strncmp(fn, "std::", 5) || !strncmp(fn, "core::", 6) || !strncmp(fn, "alloc::", 7) ||
	    !strncmp(fn, "tokio::", 7) || !strncmp(fn, "test::", 6) || fn[0] == '<')
		return;
	snprintf(qname, sizeof(qname), "%s::{async_block_env#0}", fn);
	if (dw_index__find_type(dw, qname, &v->f_type))
		return;
	v->block_on = true;
	snprintf(v->executor, sizeof(v->executor), "%s", fn);
}

/* Is pc (an ELF vaddr inside a call's return) in a block_on, and with which F? */
static void classify_pc(struct ts_dwarf *dw, uint64_t pc, struct pc_verdict *v)
{
	Dwarf_Die cu, *scopes = NULL, named;
	char qname[512];
	int n, k;

	memset(v, 0, sizeof(*v));
	v->pc = pc;
	if (!dwarf_addrdie(dw->dbg, pc, &cu))
		return;
	n = dwarf_getscopes(&cu, pc, &scopes);
	for (k = 0; k < n; k++) {
		int tag = dwarf_tag(&scopes[k]);

		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
			continue;
		if (!named_die(&scopes[k], &named) ||
		    dw_index__qualified_name(dw, dwarf_dieoffset(&named), qname, sizeof(qname)) < 0)
			continue;

		if (!strstr(qname, "block_on"))
			continue;
		if (chain_template_param(&scopes[k], "F", &v->f_type, 0)) {
			v->block_on = true;
			snprintf(v->executor, sizeof(v->executor), "%s", qname);
			break;
		}
	}
	free(scopes);
}

static int find_anchors(struct ts_dwarf *dw, const uint64_t *words, size_t nwords, uint64_t sp,
			uint64_t load_bias, struct func_syms *fs, bool by_symbol,
			struct anchor *anchors)
{
	struct pc_verdict scratch, *v;
	size_t i, k;
	int n = 0;

	for (i = 0; i < nwords && n < MAX_ANCHORS; i++) {
		uint64_t pc;

		if (words[i] <= load_bias)
			continue;
		pc = words[i] - load_bias - 1;	/* inside the call, not after it */
		if (pc < fs->text_lo || pc >= fs->text_hi)
			continue;	/* data, a heap or stack address */
		v = verdict_slot(fs, pc, by_symbol);
		if (!v)
			v = &scratch;	/* cache full: decide anyway */
		if (!v->used) {
			if (by_symbol)
				classify_by_symbol(dw, fs, pc, v);
			else
				classify_pc(dw, pc, v);
			v->pc = pc;
			v->by_symbol = by_symbol;
			v->used = true;
		}
		if (!v->block_on)
			continue;
		for (k = 0; k < (size_t)n; k++)
			if (anchors[k].f_type == v->f_type)
				break;
		if (k < (size_t)n)
			continue;	/* the outer frames of one block_on: the first is nearest */
		anchors[n].slot = sp + i * 8;
		anchors[n].f_type = v->f_type;
		snprintf(anchors[n].executor, sizeof(anchors[n].executor), "%s", v->executor);
		n++;
	}
	return n;
}

/* How much a chain read at a candidate address looks like a real, parked future. */
static int chain_score(const struct ts_await_chain *c)
{
	int s = 0;

	if (c->status != TS_CHAIN_SUSPENDED || c->nframes == 0)
		return 0;
	if (c->frames[0].line)
		s += 2;
	switch (c->leaf.kind) {
	case TS_LEAF_UNREADABLE:
	case TS_LEAF_NONE:
		break;
	case TS_LEAF_UNKNOWN:
		s += 1;
		break;
	default:
		s += 4;
	}
	return s;
}

static bool suspended_variant(const struct dw_type *t, struct mem_reader *mr, uint64_t addr)
{
	const struct dw_variant *v;

	if (!t->coroutine)
		return true;	/* a wrapper or Pin<&mut dyn Future>: the walk decides */
	v = dw_type__active_variant(t, mr, addr);
	return v && v->type_name && !strncmp(v->type_name, "Suspend", 7);
}

/* Stack read for a call at most: a blocking call sits near the stack pointer. */
#define CALLS_READ_MAX	(64u << 10)

int ts_dwarf__thread_calls(struct ts_dwarf *dw, pid_t pid, pid_t tid, uint64_t load_bias,
			   const char *comp)
{
	struct func_syms *fs = root_cache(dw);
	uint64_t sp, *words = NULL;
	ssize_t got;
	size_t i;
	int err;

	if (!fs)
		return -ENOMEM;
	err = read_stack_pointer(pid, tid, &sp);
	if (err)
		return err;
	got = read_stack(pid, sp, CALLS_READ_MAX, &words);
	err = got < 0 ? (int)got : 0;
	for (i = 0; got > 0 && i < (size_t)got / 8 && !err; i++) {
		uint64_t pc = words[i] - load_bias;
		const struct func_sym *f;

		if (pc < fs->text_lo || pc >= fs->text_hi)
			continue;
		/* a return address: just past a call, so pc - 1 is inside the caller */
		f = func_sym_at(fs, pc - 1);
		if (f && strstr(f->name, comp))
			err = 1;
	}
	free(words);
	return err;
}

int ts_dwarf__thread_root(struct ts_dwarf *dw, pid_t pid, pid_t tid, uint64_t load_bias,
			  struct ts_thread_root *out)
{
	uint64_t sp;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_stack_pointer(pid, tid, &sp);
	if (err)
		return err;
	return ts_dwarf__thread_root_at(dw, pid, tid, sp, load_bias, out);
}

int ts_dwarf__thread_root_at(struct ts_dwarf *dw, pid_t pid, pid_t tid, uint64_t sp,
			     uint64_t load_bias, struct ts_thread_root *out)
{
	struct anchor anchors[MAX_ANCHORS];
	struct func_syms *fs;
	struct ts_await_chain *tmp = NULL;
	struct mem_reader mr = { .pid = pid };
	uint64_t *words = NULL;
	int nanchors, a, best = 0, walks = 0, err;
	ssize_t got;

	memset(out, 0, sizeof(*out));
	out->tid = tid;
	out->sp = sp;
	got = read_stack(pid, sp, STACK_READ_MAX, &words);
	if (got < 0) {
		err = (int)got;
		goto cleanup;
	}
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		err = -ENOMEM;
		goto cleanup;
	}
	fs = root_cache(dw);
	if (!fs) {
		err = -ENOMEM;
		goto cleanup;
	}
	nanchors = find_anchors(dw, words, (size_t)got / 8, sp, load_bias, fs, false, anchors);
	if (nanchors == 0 && fs->n)
		nanchors = find_anchors(dw, words, (size_t)got / 8, sp, load_bias, fs, true,
					anchors);

	if (nanchors < 0) {
		err = nanchors;
		goto cleanup;
	}
	err = -ENOENT;
	for (a = 0; a < nanchors && walks < MAX_WALKS; a++) {
		const struct dw_type *t = dw_type__get(dw, anchors[a].f_type);
		uint64_t lo = anchors[a].slot + 8, hi = lo + FRAME_SEARCH, x;

		if (!t || !t->size)
			continue;
		if (hi > sp + (uint64_t)got)
			hi = sp + (uint64_t)got;
		for (x = lo; x + t->size <= hi && walks < MAX_WALKS; x += 8) {
			int s;

			if (mr.base != lo && mem_reader__window(&mr, lo, hi - lo))
				break;
			if (!suspended_variant(t, &mr, x))
				continue;
			walks++;
			if (chain_of_future(dw, &mr, load_bias, anchors[a].f_type, x, tmp))
				continue;
			s = chain_score(tmp);
			if (s > best) {
				best = s;
				out->future_addr = x;
				out->chain = *tmp;
				snprintf(out->executor, sizeof(out->executor), "%s",
					 anchors[a].executor);
			}
		}
		if (best >= 2)
			break;	/* the innermost block_on holding a parked future */
	}
	if (best >= 2) {
		char *cut;

		snprintf(out->func, sizeof(out->func), "%s", out->chain.frames[0].func);
		cut = strstr(out->func, "::{async block}");
		if (cut)
			*cut = '\0';
		err = 0;
	}
cleanup:
	mem_reader__free(&mr);
	free(words);
	free(tmp);
	return err;
}
