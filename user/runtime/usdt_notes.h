/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* USDT probe sites of a binary (stapsdt notes), for usdt/taskscope.h's ABI. */
#ifndef TS_USDT_NOTES_H
#define TS_USDT_NOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

#include "taskscope.h"

#define TS_USDT_PROVIDER "taskscope"

struct usdt_site {
	uint64_t pc;		/* ELF vaddr of the probe's nop */
	uint64_t sema;		/* ELF vaddr of its semaphore, 0 when none */
	uint64_t pc_off;	/* file offsets, for the uprobe and its ref counter */
	uint64_t sema_off;
	char name[32];		/* probe name, "poll_start" */
	struct ts_usdt_site spec;
};

/*
 * Appends the sites of provider TS_USDT_PROVIDER found in note section
 * data; base_addr is the address of .stapsdt.base in this file (notes
 * record the address the linker gave it, prelink may have moved it).
 * Sites whose probe or argument spec we don't know are skipped.
 */
int usdt_notes__parse(Elf_Data *notes, uint64_t base_addr, struct usdt_site **sites,
		      size_t *n);
/* Probe name -> enum ts_usdt_probe, 0 when unknown. Pure. */
uint32_t usdt_probe_kind(const char *name);
/*
 * "8@%rdi -4@%esi" -> spec args (register-only operands, x86-64).
 * Returns the number of arguments, or -EINVAL for an operand that is not a
 * bare register (our ABI never emits one). Pure.
 */
int usdt_parse_args(const char *args, struct ts_usdt_site *spec);

#endif
