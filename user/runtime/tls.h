/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a tokio thread keeps the id of the task it is polling: the
 * thread-local tokio::runtime::context::CONTEXT, field current_task_id
 * (Cell<Option<task::Id>>, present from 1.24 to 1.53 at least). Sampled
 * mode reads it from BPF, so it needs its address relative to a thread's
 * fsbase: the ELF's STT_TLS symbol and PT_TLS segment give CONTEXT, the
 * field's offset inside it comes from DWARF, a known layout, or a
 * calibration against the precise probes.
 */
#ifndef TS_TLS_H
#define TS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskscope.h"

struct ts_dwarf;

enum tls_field_source {
	TLS_FIELD_UNKNOWN = 0,
	TLS_FIELD_DWARF,	/* the binary's (or its debuginfo's) DWARF */
	TLS_FIELD_KNOWN,	/* tokio 1.24 + rustc 1.95 layout, CONTEXT of 104 bytes */
	TLS_FIELD_CALIBRATED,	/* the word whose values are ids of tasks in memory */
};

struct tls_context {
	char sym_name[512];	/* mangled, as in .symtab */
	uint64_t sym_value;	/* offset inside the TLS block */
	uint64_t sym_size;
	uint64_t tls_vaddr, tls_memsz, tls_align;	/* PT_TLS */
	int64_t sym_off;	/* fsbase + sym_off = a thread's CONTEXT */
	/* the Option<Id> inside CONTEXT's storage, when known */
	enum tls_field_source source;
	uint32_t opt_off;	/* from CONTEXT */
	uint32_t tag_off, tag_size;	/* inside the Option */
	uint64_t tag_none;
	uint32_t id_off;
};

/*
 * Finds CONTEXT (an STT_TLS symbol whose demangled name contains
 * tokio::runtime::context::CONTEXT; the largest when several) and the
 * PT_TLS segment of the executable at elf_path. -ENOENT when there is none
 * (not tokio, or stripped), -ENOEXEC when not an ELF.
 */
int tls_context__find(struct tls_context *tc, const char *elf_path);
/* The field from DWARF. -ENOENT when the DWARF does not describe it. */
int tls_context__from_dwarf(struct tls_context *tc, struct ts_dwarf *dw);
/* The layout checked on tokio 1.24.2 built by rustc 1.95. -ENOTSUP otherwise. */
int tls_context__known_layout(struct tls_context *tc, const char *tokio_version);
/*
 * From calibration samples (CONTEXT's first words, as the cpu-clock found
 * them) and ids, the sorted task ids of every task found in memory (the
 * workers' launch tasks included): the id word is the one whose nonzero
 * values are task ids, at least two different ones (a constant 1 is not an
 * id), in at least 90 % of the samples; the word before it is the
 * Option's tag when it only ever reads 0 or 1. Pure. -EAGAIN when too few
 * samples, -ENOENT when no word (or more than one alike) fits.
 */
int tls_context__from_words(struct tls_context *tc, const struct ts_calib_sample *s, size_t n,
			    const uint64_t *ids, size_t nids);
/* What the BPF side needs. Pure. */
void tls_context__layout(const struct tls_context *tc, struct ts_tls_layout *out);
const char *tls_field_source_name(enum tls_field_source s);

/* x86-64 TLS variant II: the main executable's block ends at fsbase. Pure. */
int64_t tls_main_block_offset(uint64_t vaddr, uint64_t memsz, uint64_t align);

#endif
