/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Walking an ELF file's symbol table (.symtab), bounded by what the file holds. */
#ifndef TS_ELF_SYMTAB_H
#define TS_ELF_SYMTAB_H

#include <gelf.h>

/* Called per symbol with a name; a non-zero return stops the walk and is returned. */
typedef int (*elf_symbol_fn)(void *ctx, const GElf_Sym *sym, const char *name);

/* Calls fn for every named symbol of every SHT_SYMTAB section; 0 when it ran out. */
int elf_symtab__each(Elf *elf, elf_symbol_fn fn, void *ctx);

#endif
