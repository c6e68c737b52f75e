/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The stapsdt note parser (usdt_notes__parse) on arbitrary section data,
 * and the argument spec parser (usdt_parse_args) on arbitrary text. The
 * input becomes the .note.stapsdt section of a minimal ELF built in memory,
 * so libelf hands the parser an Elf_Data just as for a real binary.
 */
#include <gelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usdt_notes.h"

static const char shstrtab[] = "\0.note.stapsdt\0.shstrtab";

/*
 * ELF header, section headers, .shstrtab, then the note data last: a read
 * past the section is a read past the allocation, which ASan reports.
 */
static char *build_elf(const uint8_t *data, size_t size, size_t *len)
{
	size_t sh_off = sizeof(Elf64_Ehdr);
	size_t str_off = sh_off + 3 * sizeof(Elf64_Shdr);
	size_t note_off = (str_off + sizeof(shstrtab) + 3) & ~(size_t)3;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	char *img;

	*len = note_off + size;
	img = calloc(1, *len);
	if (!img)
		return NULL;
	eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shoff = sh_off;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 3;
	eh->e_shstrndx = 2;
	sh = (Elf64_Shdr *)(img + sh_off);
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_NOTE, .sh_offset = note_off,
			      .sh_size = size, .sh_addralign = 4 };
	sh[2] = (Elf64_Shdr){ .sh_name = 15, .sh_type = SHT_STRTAB, .sh_offset = str_off,
			      .sh_size = sizeof(shstrtab), .sh_addralign = 1 };
	memcpy(img + str_off, shstrtab, sizeof(shstrtab));
	if (size)
		memcpy(img + note_off, data, size);
	return img;
}

static void fuzz_notes(const uint8_t *data, size_t size)
{
	struct usdt_site *sites = NULL;
	size_t n = 0, len;
	Elf_Scn *scn;
	Elf_Data *notes;
	char *img;
	Elf *elf;

	img = build_elf(data, size, &len);
	if (!img)
		return;
	elf = elf_memory(img, len);
	scn = elf ? elf_getscn(elf, 1) : NULL;
	notes = scn ? elf_getdata(scn, NULL) : NULL;
	if (notes)
		usdt_notes__parse(notes, 0x4000, &sites, &n);
	free(sites);
	if (elf)
		elf_end(elf);
	free(img);
}

static void fuzz_args(const uint8_t *data, size_t size)
{
	struct ts_usdt_site spec;
	char *text = malloc(size + 1);
	int n;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	n = usdt_parse_args(text, &spec);
	if (n > TS_USDT_MAX_ARGS || (n >= 0 && spec.nargs != (uint32_t)n))
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;

	if (!init) {
		elf_version(EV_CURRENT);
		init = true;
	}
	fuzz_notes(data, size);
	fuzz_args(data, size);
	return 0;
}
