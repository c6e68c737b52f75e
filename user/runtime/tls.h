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
	TLS_FIELD_CALIBRATED,	/* matched against the task ids the probes saw */
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
 * From calibration counts: id_hits[k] samples whose word k of CONTEXT held
 * the id of the task the probes saw polled, one_hits[k] whose word k was 1
 * (an Option's Some tag), out of total. -EAGAIN when too few samples,
 * -ENOENT when no word stands out.
 */
int tls_context__from_calibration(struct tls_context *tc, const uint64_t *id_hits,
				  const uint64_t *one_hits, uint64_t total);
/* What the BPF side needs. Pure. */
void tls_context__layout(const struct tls_context *tc, struct ts_tls_layout *out);
const char *tls_field_source_name(enum tls_field_source s);

/* x86-64 TLS variant II: the main executable's block ends at fsbase. Pure. */
int64_t tls_main_block_offset(uint64_t vaddr, uint64_t memsz, uint64_t align);

#endif
