/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tokio task vtables found by their shape, for binaries without a symbol
 * table (strip = true, distribution packages). Pure: works on the
 * relocations and words of the file, so it is unit-tested without a binary.
 */
#ifndef TS_VTABLE_SHAPE_H
#define TS_VTABLE_SHAPE_H

#include <stddef.h>
#include <stdint.h>

/* One R_X86_64_RELATIVE relocation: the word at `where` holds `target`. */
struct reloc_word {
	uint64_t where;
	uint64_t target;
};

/*
 * tokio's raw::Vtable in declaration order, as rustc 1.6x-1.9x lays it
 * out for every tokio release 1.24-1.53 (checked against symbols):
 * poll, schedule, dealloc, try_read_output, drop_join_handle_slow,
 * drop_abort_handle, shutdown (code pointers), then trailer_offset,
 * scheduler_offset, id_offset (byte offsets from the header).
 */
#define TOKIO_VT_NFNS		7
#define TOKIO_VT_POLL		0
#define TOKIO_VT_DEALLOC	2

struct shaped_vtable {
	uint64_t vaddr;
	uint64_t fns[TOKIO_VT_NFNS];
	uint64_t trailer_offset, scheduler_offset, id_offset;
};

/* Reads the 8-byte word at ELF vaddr from the file; 0 on success. */
typedef int (*vaddr_word_reader)(void *ctx, uint64_t vaddr, uint64_t *word);

/*
 * Finds every run of TOKIO_VT_NFNS relocated words pointing into
 * [text_lo, text_hi) followed by three unrelocated words that read as
 * plausible header offsets. relocs must be sorted by `where`. Writes at
 * most max vtables to out; returns how many matched (may exceed max).
 */
size_t tokio_vtables_by_shape(const struct reloc_word *relocs, size_t nrelocs,
			      uint64_t text_lo, uint64_t text_hi,
			      vaddr_word_reader read_word, void *ctx,
			      struct shaped_vtable *out, size_t max);

#endif
