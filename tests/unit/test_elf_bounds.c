/*
 * The ELF reader against corrupt files: sizes and counts read from the
 * file are checked against the file. The intact file is this test's own
 * executable, which carries taskscope USDT probes so that it loads as a
 * runtime; each case patches a copy in a temp dir and must get an error
 * (or a clean load), quickly, without a crash or a huge allocation.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../usdt/taskscope.h"
#include "array.h"
#include "runtime_binary.h"
#include "unit.h"

static unsigned char *image;
static size_t image_len;
static char tmpdir[] = "/tmp/ts_elf_bounds.XXXXXX";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_self(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	off_t end;

	if (fd < 0)
		return -errno;
	end = lseek(fd, 0, SEEK_END);
	image_len = end > 0 ? (size_t)end : 0;
	image = malloc(image_len ? image_len : 1);
	if (!image || pread(fd, image, image_len, 0) != (ssize_t)image_len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static Elf64_Ehdr *ehdr(unsigned char *img)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Shdr *shdr(unsigned char *img, size_t i)
{
	return (Elf64_Shdr *)(img + ehdr(img)->e_shoff + i * ehdr(img)->e_shentsize);
}

/* The first section of that type (and name, when given) in img. */
static Elf64_Shdr *find_section(unsigned char *img, uint32_t type, const char *name)
{
	Elf64_Shdr *strtab = shdr(img, ehdr(img)->e_shstrndx);
	size_t i;

	for (i = 0; i < ehdr(img)->e_shnum; i++) {
		Elf64_Shdr *s = shdr(img, i);

		if (s->sh_type != type)
			continue;
		if (!name || !strcmp((char *)img + strtab->sh_offset + s->sh_name, name))
			return s;
	}
	return NULL;
}

static Elf64_Phdr *first_load(unsigned char *img)
{
	size_t i;

	for (i = 0; i < ehdr(img)->e_phnum; i++) {
		Elf64_Phdr *p = (Elf64_Phdr *)(img + ehdr(img)->e_phoff + i * ehdr(img)->e_phentsize);

		if (p->p_type == PT_LOAD)
			return p;
	}
	return NULL;
}

/* Writes len bytes of img to a file in tmpdir, loads it: the error, and the time. */
static int load_copy(const unsigned char *img, size_t len, struct runtime_binary *tb,
		     double *secs)
{
	char path[sizeof(tmpdir) + 16];
	double t0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/copy", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, img, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	t0 = now_s();
	err = runtime_binary__load(tb, path);
	*secs = now_s() - t0;
	unlink(path);
	return err;
}

typedef void (*patch_fn)(unsigned char *img);

static void symtab_size_huge(unsigned char *img)
{
	find_section(img, SHT_SYMTAB, NULL)->sh_size = 0x15000000000ULL;	/* 1.4 TB */
}

static void symtab_offset_past_end(unsigned char *img)
{
	find_section(img, SHT_SYMTAB, NULL)->sh_offset = image_len + 4096;
}

static void symtab_entsize_zero(unsigned char *img)
{
	find_section(img, SHT_SYMTAB, NULL)->sh_entsize = 0;
}

static void rela_size_huge(unsigned char *img)
{
	find_section(img, SHT_RELA, NULL)->sh_size = 0xffffffffff00ULL;
}

static void notes_descsz_huge(unsigned char *img)
{
	Elf64_Shdr *s = find_section(img, SHT_NOTE, ".note.stapsdt");
	Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + s->sh_offset);

	nh->n_descsz = 0xfffffff0;
}

static void notes_namesz_huge(unsigned char *img)
{
	Elf64_Shdr *s = find_section(img, SHT_NOTE, ".note.stapsdt");
	Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + s->sh_offset);

	nh->n_namesz = 0x7ffffff0;
}

static void phnum_huge(unsigned char *img)
{
	ehdr(img)->e_phnum = 0xfffe;
}

static void load_filesz_huge(unsigned char *img)
{
	first_load(img)->p_filesz = 0x10000000000ULL;
}

static void shnum_huge(unsigned char *img)
{
	ehdr(img)->e_shnum = 0xfeff;
}

static void test_patched(void)
{
	static const struct {
		const char *name;
		patch_fn patch;
		bool must_fail;		/* else: an error or a clean load, both fine */
	} cases[] = {
		{ ".symtab sh_size 1.4 TB", symtab_size_huge, true },
		{ ".symtab past the end of the file", symtab_offset_past_end, true },
		{ ".symtab sh_entsize 0", symtab_entsize_zero, false },
		{ ".rela.dyn sh_size 256 TB", rela_size_huge, true },
		{ "stapsdt note descsz 4 GB", notes_descsz_huge, false },
		{ "stapsdt note namesz 2 GB", notes_namesz_huge, false },
		{ "e_phnum 65534", phnum_huge, true },
		{ "PT_LOAD p_filesz 1 TB", load_filesz_huge, true },
		{ "e_shnum 65279", shnum_huge, true },
	};
	unsigned char *copy = malloc(image_len);
	char name[160];
	size_t i;

	if (!copy)
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct runtime_binary tb;
		double secs;
		int err;

		memcpy(copy, image, image_len);
		cases[i].patch(copy);
		err = load_copy(copy, image_len, &tb, &secs);
		snprintf(name, sizeof(name), "corrupt ELF, %s: %s in %.2f s", cases[i].name,
			 err ? strerror(-err) : "loaded", secs);
		if (cases[i].must_fail)
			CHECK(name, err == -ENOEXEC && secs < 2.0);
		else
			CHECK(name, (err == 0 || err == -ENOEXEC || err == -ESRCH) && secs < 2.0);
		if (!err || err == -ESRCH)
			runtime_binary__free(&tb);
	}
	free(copy);
}

/* Cut anywhere: the reader sees a short file, never reads past it. */
static void test_truncated(void)
{
	size_t cuts[64], i, n = 0, worst_at = 0;
	double worst = 0;
	bool all_errors = true;
	char name[128];

	for (i = 0; i < 48; i++)
		cuts[n++] = image_len / 48 * i;
	cuts[n++] = sizeof(Elf64_Ehdr) - 1;
	cuts[n++] = ehdr(image)->e_shoff;
	cuts[n++] = image_len - 1;
	for (i = 0; i < n; i++) {
		struct runtime_binary tb;
		double secs;
		int err = load_copy(image, cuts[i], &tb, &secs);

		if (!err || err == -ESRCH) {
			runtime_binary__free(&tb);
			all_errors = false;
			printf("# cut at %zu of %zu loaded\n", cuts[i], image_len);
		}
		if (secs > worst) {
			worst = secs;
			worst_at = cuts[i];
		}
	}
	snprintf(name, sizeof(name), "truncated ELF: %zu cuts, all refused (slowest %.2f s at %zu)",
		 n, worst, worst_at);
	CHECK(name, all_errors && worst < 2.0);
}

/*
 * Random damage to the headers, the tables and the notes (fixed seed, so
 * a failure reproduces): whatever the error, no crash and no hang.
 */
static void test_mutated(void)
{
	Elf64_Shdr *notes = find_section(image, SHT_NOTE, ".note.stapsdt");
	unsigned char *copy = malloc(image_len);
	size_t regions[3][2] = {
		{ 0, ehdr(image)->e_phoff + (size_t)ehdr(image)->e_phnum * ehdr(image)->e_phentsize },
		{ ehdr(image)->e_shoff, (size_t)ehdr(image)->e_shnum * ehdr(image)->e_shentsize },
		{ notes ? notes->sh_offset : 0, notes ? notes->sh_size : 64 },
	};
	unsigned int seed = 12, i, k, loaded = 0, runs = 1000;
	double worst = 0;
	char name[128];

	if (!copy)
		return;
	for (i = 0; i < runs; i++) {
		struct runtime_binary tb;
		double secs;
		int err;

		memcpy(copy, image, image_len);
		for (k = 0; k < 1 + i % 8; k++) {
			size_t *r = regions[rand_r(&seed) % 3];
			size_t at = r[0] + (size_t)rand_r(&seed) % (r[1] ? r[1] : 1);

			if (at < image_len)
				copy[at] = (unsigned char)rand_r(&seed);
		}
		err = load_copy(copy, image_len, &tb, &secs);
		if (!err || err == -ESRCH) {
			runtime_binary__free(&tb);
			loaded++;
		}
		if (secs > worst)
			worst = secs;
	}
	snprintf(name, sizeof(name), "%u copies with damaged headers read without a crash "
		 "(%u loaded, slowest %.2f s)", runs, loaded, worst);
	CHECK(name, worst < 2.0);
	free(copy);
}

int main(void)
{
	struct runtime_binary tb;
	struct rlimit as;
	double secs;
	int err;

	/* the probes that make this binary a USDT runtime; never enabled */
	TASKSCOPE_POLL_START(1);
	TASKSCOPE_POLL_END(1, TASKSCOPE_POLL_READY);
	if (read_self() || !mkdtemp(tmpdir)) {
		CHECK("reads its own executable into a temp dir", false);
		UNIT_EXIT();
	}
	err = load_copy(image, image_len, &tb, &secs);
	CHECK("intact copy loads as a USDT runtime", err == 0 && tb.runtime == TS_RT_USDT &&
	      tb.nusdt >= 2);
	if (!err)
		runtime_binary__free(&tb);
	/*
	 * An allocation sized by a corrupt header fails here instead of
	 * swapping (ASan reserves terabytes of shadow: it has its own limit).
	 */
#ifndef __SANITIZE_ADDRESS__
	if (!getrlimit(RLIMIT_AS, &as) && as.rlim_cur == RLIM_INFINITY) {
		as.rlim_cur = 4ULL << 30;
		setrlimit(RLIMIT_AS, &as);
	}
#else
	(void)as;
#endif
	test_patched();
	test_truncated();
	test_mutated();
	rmdir(tmpdir);
	free(image);
	UNIT_EXIT();
}
