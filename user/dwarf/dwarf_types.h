/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Rust types as DWARF describes them, decoded on demand and cached by DIE
 * offset, and values of them read from a live process (read-only).
 *
 * rustc (1.95) encodings relied on here, checked with llvm-dwarfdump:
 * - enums and async state machines are structures with one
 *   DW_TAG_variant_part; DW_AT_discr names an artificial member (the tag,
 *   or for a niche-encoded enum the niche bytes of the dataful variant); a
 *   variant without DW_AT_discr_value is the dataful (default) one;
 * - a state machine's tag member is named "__state"; its variant members
 *   are named "0", "1", ... with the variant structure named
 *   "Unresumed"/"Returned"/"Panicked"/"SuspendN", and DW_AT_decl_file/line
 *   of each member is the .await (Unresumed: the fn; Returned: its end);
 * - &str is a structure "&str" { data_ptr, length }; fat pointers to dyn
 *   are structures { pointer, vtable }.
 */
#ifndef TS_DWARF_TYPES_H
#define TS_DWARF_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dwarf_index.h"

enum dw_kind {
	DW_K_OTHER,
	DW_K_BASE,
	DW_K_PTR,
	DW_K_STRUCT,	/* structures, unions, Rust enums (with variants) */
	DW_K_CENUM,	/* DW_TAG_enumeration_type */
	DW_K_ARRAY,
};

struct dw_member {
	const char *name;
	uint64_t off;
	Dwarf_Off type;		/* 0: none */
};

struct dw_variant {
	bool has_discr;		/* false: the default (dataful) variant */
	uint64_t discr;
	const char *name;	/* of the variant member: "Running", "3" */
	const char *type_name;	/* of its structure: "Running", "Suspend0" */
	uint64_t off;
	Dwarf_Off type;
	const char *file;	/* decl_file as written, NULL when absent */
	const char *comp_dir;	/* its unit's DW_AT_comp_dir: a relative file is under it */
	uint32_t line;
};

struct dw_type {
	Dwarf_Off off;		/* after peeling typedef/const/volatile */
	enum dw_kind kind;
	uint64_t size;
	const char *name;	/* DW_AT_name, may be NULL */
	char *qname;		/* qualified, computed on first dw_type__qname */
	int encoding;		/* DW_ATE_* of a base type */
	Dwarf_Off target;	/* pointee of a pointer, element of an array; 0: none */
	uint64_t count;		/* array elements */
	Dwarf_Off tparam;	/* first template type parameter, 0: none */
	struct dw_member *members;
	size_t nmembers, cap_members;
	bool has_variants;
	bool coroutine;		/* discriminant member named __state */
	bool has_discr;
	uint64_t discr_off, discr_size;
	struct dw_variant *variants;
	size_t nvariants, cap_variants;
};

/* Decoded type at DIE offset off (cached); NULL when it can't be read. */
const struct dw_type *dw_type__get(struct ts_dwarf *dw, Dwarf_Off off);
/* Its qualified Rust name ("tokio::time::sleep::Sleep", "&str", "u64"). */
const char *dw_type__qname(struct ts_dwarf *dw, const struct dw_type *t);
const struct dw_member *dw_type__member(const struct dw_type *t, const char *name);
/*
 * Finds a member by name anywhere inside t (through nested structures,
 * not pointers), depth first, at most depth levels down. Offset relative
 * to t.
 */
int dw_type__find_deep(struct ts_dwarf *dw, const struct dw_type *t, const char *name, int depth,
		       uint64_t *off, const struct dw_type **mt);
/* Follows "a.b.c" through members. */
int dw_type__find_path(struct ts_dwarf *dw, const struct dw_type *t, const char *path,
		       uint64_t *off, const struct dw_type **mt);
/* The first pointer found depth first inside t (t itself when a pointer). */
int dw_type__first_pointer(struct ts_dwarf *dw, const struct dw_type *t, int depth,
			   uint64_t *off, const struct dw_type **pt);
/* True when the value of t occupies no bytes (PhantomData, Global...). */
bool dw_type__is_zst(const struct dw_type *t);

void dw_types__free(struct ts_dwarf *dw);

/*
 * Reads of target memory through a window: the first read of a future
 * loads it whole (one process_vm_readv), later reads inside it are copies.
 */
struct mem_reader {
	pid_t pid;
	uint64_t base;
	size_t len;
	uint8_t *buf;
	size_t cap;
	uint64_t syscalls;
};

int mem_reader__window(struct mem_reader *mr, uint64_t addr, size_t len);
/* All-or-nothing; -EFAULT when any byte is unreadable. */
int mem_reader__read(struct mem_reader *mr, uint64_t addr, void *out, size_t len);
int mem_reader__u64(struct mem_reader *mr, uint64_t addr, uint64_t *v);
void mem_reader__free(struct mem_reader *mr);

/* Unsigned little-endian value of size bytes (1, 2, 4, 8) at addr. */
int dw_read_uint(struct mem_reader *mr, uint64_t addr, uint64_t size, uint64_t *v);
/*
 * The variant of the enum/state machine t in memory at addr: by its
 * discriminant, else the default variant. NULL when unreadable or none.
 */
const struct dw_variant *dw_type__active_variant(const struct dw_type *t, struct mem_reader *mr,
						 uint64_t addr);
/*
 * Formats a value of t at addr for a person: integers, bool, char,
 * floats, &str and String (quoted, cut), raw pointers and references
 * (0x...), smart pointers (Box/Arc/Rc/NonNull: the address they hold,
 * for Arc the address of the data), fieldless enums by name, and Rust
 * enums as their variant with a one-value payload ("None", "Some(3)").
 * -ENOTSUP for other types, -EFAULT
 * when unreadable. *ptr_out (may be NULL) gets the address a pointer-like
 * value holds.
 */
int dw_format_value(struct ts_dwarf *dw, struct mem_reader *mr, const struct dw_type *t,
		    uint64_t addr, char *buf, size_t len, uint64_t *ptr_out);
/* Quotes up to len bytes of UTF-8 text into buf, escaping and cutting (pure). */
void dw_quote_text(const char *s, size_t n, bool more, char *buf, size_t len);

#endif
