// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "core_file.h"

/* struct user_regs_struct (x86-64) as NT_PRSTATUS's pr_reg holds it */
#define REG_RIP_IDX	16
#define REG_RSP_IDX	19
#define REG_FS_BASE_IDX	21

#define MAX_SEGMENTS	(1u << 20)
#define MAX_THREADS	(1u << 16)

static int cmp_seg(const void *a, const void *b)
{
	const struct core_segment *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/*
 * NT_FILE (fs/binfmt_elf.c, fill_files_note): count, page size, count
 * (start, end, offset in pages) triples, then count NUL-ended paths.
 * Every size is checked against the note's own length.
 */
static int parse_nt_file(struct core_file *cf, const uint8_t *d, size_t len)
{
	uint64_t count, page, i;
	const char *names, *end;

	if (len < 16)
		return -EINVAL;
	memcpy(&count, d, 8);
	memcpy(&page, d + 8, 8);
	if (count > (len - 16) / 24 || !page)
		return -EINVAL;
	cf->files = calloc(count + 1, sizeof(*cf->files));
	if (!cf->files)
		return -ENOMEM;
	names = (const char *)d + 16 + count * 24;
	end = (const char *)d + len;
	for (i = 0; i < count; i++) {
		struct core_mapped_file *f = &cf->files[i];
		uint64_t v[3];
		size_t n;

		memcpy(v, d + 16 + i * 24, sizeof(v));
		if (names >= end)
			return -EINVAL;
		n = strnlen(names, (size_t)(end - names));
		f->start = v[0];
		f->end = v[1];
		f->offset = v[2] * page;
		snprintf(f->path, sizeof(f->path), "%.*s", (int)n, names);
		f->fd = -2;
		names += n + 1;
	}
	cf->nfiles = count;
	return 0;
}

static int add_thread(struct core_file *cf, const uint8_t *d, size_t len)
{
	struct core_thread *nt, *t;
	prstatus_t st;

	if (len < sizeof(st) || cf->nthreads >= MAX_THREADS)
		return 0;	/* another architecture's, or too many: skip */
	memcpy(&st, d, sizeof(st));
	nt = realloc(cf->threads, (cf->nthreads + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	cf->threads = nt;
	t = &nt[cf->nthreads++];
	t->tid = st.pr_pid;
	t->rip = st.pr_reg[REG_RIP_IDX];
	t->rsp = st.pr_reg[REG_RSP_IDX];
	t->fs_base = st.pr_reg[REG_FS_BASE_IDX];
	return 0;
}

static void parse_auxv(struct core_file *cf, const uint8_t *d, size_t len)
{
	size_t i;

	for (i = 0; i + 16 <= len; i += 16) {
		uint64_t kv[2];

		memcpy(kv, d + i, sizeof(kv));
		if (kv[0] == AT_ENTRY)
			cf->entry = kv[1];
	}
}

static int parse_notes(struct core_file *cf, Elf *elf, const GElf_Phdr *ph)
{
	Elf_Data *data;
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;
	int err = 0;

	data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_NHDR);
	if (!data)
		return -EINVAL;
	while (!err && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;
		const char *name = (const char *)data->d_buf + name_off;

		if (nh.n_namesz != 5 || memcmp(name, "CORE", 5))
			continue;
		switch (nh.n_type) {
		case NT_PRSTATUS:
			err = add_thread(cf, desc, nh.n_descsz);
			break;
		case NT_PRPSINFO:
			if (nh.n_descsz >= sizeof(prpsinfo_t)) {
				prpsinfo_t ps;

				memcpy(&ps, desc, sizeof(ps));
				cf->pid = ps.pr_pid;
				snprintf(cf->comm, sizeof(cf->comm), "%.*s", (int)sizeof(ps.pr_fname),
					 ps.pr_fname);
				snprintf(cf->args, sizeof(cf->args), "%.*s",
					 (int)sizeof(ps.pr_psargs), ps.pr_psargs);
			}
			break;
		case NT_FILE:
			if (!cf->files)
				err = parse_nt_file(cf, desc, nh.n_descsz);
			break;
		case NT_AUXV:
			parse_auxv(cf, desc, nh.n_descsz);
			break;
		}
	}
	return err;
}

static int add_segment(struct core_file *cf, const GElf_Phdr *ph, size_t *cap)
{
	struct core_segment *s;

	if (cf->nsegs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct core_segment *ns;

		if (ncap > MAX_SEGMENTS)
			return -E2BIG;
		ns = realloc(cf->segs, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		cf->segs = ns;
		*cap = ncap;
	}
	s = &cf->segs[cf->nsegs++];
	memset(s, 0, sizeof(*s));
	s->vaddr = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->file_off = ph->p_offset;
	/* a truncated core (disk full, a size limit) holds less than it says */
	if (ph->p_offset >= cf->size)
		s->filesz = 0;
	else if (ph->p_filesz > cf->size - ph->p_offset)
		s->filesz = cf->size - ph->p_offset;
	else
		s->filesz = ph->p_filesz;
	if (s->filesz > s->memsz)
		s->filesz = s->memsz;
	snprintf(s->perms, sizeof(s->perms), "%c%c%cp", ph->p_flags & PF_R ? 'r' : '-',
		 ph->p_flags & PF_W ? 'w' : '-', ph->p_flags & PF_X ? 'x' : '-');
	s->file_idx = -1;
	return 0;
}

/* Names each segment after the NT_FILE entry mapping it; finds the executable. */
static void name_segments(struct core_file *cf)
{
	size_t i, k;

	for (i = 0; i < cf->nsegs; i++) {
		struct core_segment *s = &cf->segs[i];

		for (k = 0; k < cf->nfiles; k++) {
			const struct core_mapped_file *f = &cf->files[k];

			if (s->vaddr < f->start || s->vaddr >= f->end)
				continue;
			s->file_idx = (int)k;
			s->map_off = f->offset + (s->vaddr - f->start);
			break;
		}
	}
	for (k = 0; k < cf->nfiles && cf->entry; k++)
		if (cf->entry >= cf->files[k].start && cf->entry < cf->files[k].end) {
			snprintf(cf->exe, sizeof(cf->exe), "%s", cf->files[k].path);
			break;
		}
}

int core_file__open(struct core_file *cf, const char *path, char *why, size_t whylen)
{
	Elf *elf = NULL;
	GElf_Ehdr eh;
	struct stat st;
	size_t nph, i, cap = 0;
	int err;

	memset(cf, 0, sizeof(*cf));
	cf->fd = -1;
	snprintf(cf->path, sizeof(cf->path), "%s", path);
	cf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (cf->fd < 0 || fstat(cf->fd, &st)) {
		err = -errno;
		snprintf(why, whylen, "can't open core file %s: %s", path, strerror(errno));
		goto cleanup;
	}
	cf->size = (size_t)st.st_size;
	if (!S_ISREG(st.st_mode) || cf->size < sizeof(Elf64_Ehdr)) {
		err = -EINVAL;
		snprintf(why, whylen, "%s is not an ELF core file", path);
		goto cleanup;
	}
	cf->data = mmap(NULL, cf->size, PROT_READ, MAP_PRIVATE, cf->fd, 0);
	if (cf->data == MAP_FAILED) {
		cf->data = NULL;
		err = -errno;
		snprintf(why, whylen, "can't map core file %s: %s", path, strerror(errno));
		goto cleanup;
	}
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)cf->data, cf->size);
	if (!elf || !gelf_getehdr(elf, &eh) || eh.e_type != ET_CORE ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    elf_getphdrnum(elf, &nph)) {
		err = -EINVAL;
		snprintf(why, whylen, "%s is not an x86-64 ELF core file", path);
		goto cleanup;
	}
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD)
			err = add_segment(cf, &ph, &cap);
		else if (ph.p_type == PT_NOTE && ph.p_offset < cf->size &&
			 ph.p_filesz <= cf->size - ph.p_offset)
			err = parse_notes(cf, elf, &ph);
		else
			err = 0;
		if (err) {
			snprintf(why, whylen, "%s: a corrupt core file (%s)", path,
				 err == -ENOMEM ? "out of memory" : "bad program header or note");
			goto cleanup;
		}
	}
	if (!cf->nsegs || !cf->pid) {
		err = -EINVAL;
		snprintf(why, whylen, "%s: a core file without %s", path,
			 cf->nsegs ? "the process's PID (NT_PRPSINFO)" : "memory segments");
		goto cleanup;
	}
	qsort(cf->segs, cf->nsegs, sizeof(*cf->segs), cmp_seg);
	name_segments(cf);
	err = 0;
cleanup:
	if (elf)
		elf_end(elf);
	if (err)
		core_file__close(cf);
	return err;
}

void core_file__close(struct core_file *cf)
{
	size_t i;

	for (i = 0; i < cf->nfiles; i++)
		if (cf->files[i].fd >= 0)
			close(cf->files[i].fd);
	free(cf->files);
	free(cf->segs);
	free(cf->threads);
	if (cf->data)
		munmap((void *)cf->data, cf->size);
	if (cf->fd >= 0)
		close(cf->fd);
	memset(cf, 0, sizeof(*cf));
	cf->fd = -1;
}

static const struct core_segment *find_segment(const struct core_file *cf, uint64_t addr)
{
	/* the last segment starting at or before addr */
	size_t lo = addr == UINT64_MAX ? cf->nsegs :
					 TS_LOWER_BOUND(cf->segs, cf->nsegs, vaddr, addr + 1);

	if (!lo)
		return NULL;
	lo--;
	return addr - cf->segs[lo].vaddr < cf->segs[lo].memsz ? &cf->segs[lo] : NULL;
}

static int mapped_file_fd(struct core_file *cf, int idx)
{
	struct core_mapped_file *f = &cf->files[idx];
	const char *path = f->path;

	if (f->fd != -2)
		return f->fd;
	if (cf->exe_override[0] && !strcmp(f->path, cf->exe))
		path = cf->exe_override;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		f->fd = -1;
	return f->fd;
}

ssize_t core_file__read(struct core_file *cf, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;

	while (done < len) {
		const struct core_segment *s = find_segment(cf, addr + done);
		uint64_t in_seg, n;
		ssize_t got;
		int fd;

		if (!s)
			break;
		in_seg = addr + done - s->vaddr;
		n = s->memsz - in_seg;
		if (n > len - done)
			n = len - done;
		if (in_seg < s->filesz) {
			if (n > s->filesz - in_seg)
				n = s->filesz - in_seg;
			memcpy(out + done, cf->data + s->file_off + in_seg, n);
			done += n;
			continue;
		}
		/* not dumped: file-backed pages as the file holds them */
		if (s->file_idx < 0)
			break;
		fd = mapped_file_fd(cf, s->file_idx);
		if (fd < 0)
			break;
		got = pread(fd, out + done, n, (off_t)(s->map_off + in_seg));
		if (got <= 0)
			break;
		done += (size_t)got;
		if ((uint64_t)got < n)
			break;
	}
	return done ? (ssize_t)done : -EFAULT;
}
