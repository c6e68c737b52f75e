/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stddef.h>

#include "elf_symtab.h"

int elf_symtab__each(Elf *elf, elf_symbol_fn fn, void *ctx)
{
	size_t ent = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !ent)
			continue;
		/* what the file holds, not what sh_size claims (fuzz_elf: a 1.4 TB symtab) */
		n = data->d_size / ent;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int ret;

			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			ret = fn(ctx, &sym, name);
			if (ret)
				return ret;
		}
	}
	return 0;
}
