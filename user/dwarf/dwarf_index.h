/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DWARF of one binary, indexed once: finding the debuginfo (the ELF itself,
 * .gnu_debuglink, /usr/lib/debug/.build-id), and per compile unit, built
 * lazily on first use, the functions by entry address and the named scopes
 * (namespaces, structures) that give a DIE its qualified Rust path.
 * Types are decoded on demand and cached by DIE offset (dwarf_types.h).
 */
#ifndef TS_DWARF_INDEX_H
#define TS_DWARF_INDEX_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_type;
struct dw_type_cache;
struct chain_cache;

/* A named DIE that can hold other named DIEs. */
struct dw_scope {
	Dwarf_Off off;		/* global DIE offset */
	Dwarf_Off end;		/* first offset past its subtree */
	int parent;		/* index into cu_index.scopes, -1 at top level */
	int tag;
	const char *name;	/* into .debug_str, lives as long as the Dwarf */
};

struct dw_func {
	uint64_t low_pc;	/* ELF vaddr */
	Dwarf_Off off;
};

struct cu_index {
	Dwarf_Off cu_off;	/* offset of the CU DIE */
	bool built;
	struct dw_scope *scopes;	/* preorder, so sorted by off */
	size_t nscopes, cap_scopes;
	struct dw_func *funcs;	/* sorted by low_pc */
	size_t nfuncs, cap_funcs;
};

struct ts_dwarf {
	int fd;			/* of the file holding the DWARF */
	Elf *elf;
	Dwarf *dbg;
	char elf_path[4096];
	char dwarf_path[4096];	/* file the DWARF came from */
	struct cu_index *cus;	/* sorted by cu_off */
	size_t ncus, cap_cus;
	struct dw_type_cache *types;
	struct chain_cache *chain;	/* await_chain.c: per raw::poll instance */
	struct func_syms *func_syms;	/* thread_root.c: Rust functions by address */
	/* ts_dwarf__member_offset lookups, by qualified name */
	struct dw_named { char *name; Dwarf_Off off; } *named;
	size_t nnamed, cap_named;
	/* measurements for the tests and `--verbose` */
	uint64_t cus_indexed, dies_visited;
};

/* Opens the DWARF for elf_path; see ts_dwarf__open (await_chain.h). */
int dw_index__open(struct ts_dwarf *dw, const char *elf_path, const char *debuginfo_path,
		   char *why, size_t whylen);
void dw_index__close(struct ts_dwarf *dw);

/* The subprogram DIE whose DW_AT_low_pc is pc (an ELF vaddr). -ENOENT if none. */
int dw_index__func_at(struct ts_dwarf *dw, uint64_t pc, Dwarf_Die *out);
/*
 * The Rust path of a DIE: its enclosing namespaces and types joined by
 * "::" and its own name, as rustc spells them
 * ("await_nested::db_query::{async_fn_env#0}"). Returns the length or -errno.
 */
int dw_index__qualified_name(struct ts_dwarf *dw, Dwarf_Off off, char *buf, size_t len);
/*
 * A structure/union/enum type by its qualified name, first match in DIE
 * order. Indexes compile units until found. -ENOENT if none.
 */
int dw_index__find_type(struct ts_dwarf *dw, const char *qname, Dwarf_Off *off);
/*
 * In the compile unit of near_off, a structure whose qualified name starts
 * with qprefix and whose template parameter T is the type at t_off.
 */
int dw_index__find_generic(struct ts_dwarf *dw, Dwarf_Off near_off, const char *qprefix,
			   Dwarf_Off t_off, Dwarf_Off *off);

/* Splits "a::b<c::d>::e" at top-level "::" into at most max parts (pure). */
int dw_split_path(const char *path, char parts[][256], int max);

#endif
