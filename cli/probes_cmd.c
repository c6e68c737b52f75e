/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* taskscope probes PID|BINARY: what taskscope can attach to, without attaching. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "await_chain.h"
#include "cli.h"
#include "json_writer.h"
#include "layout_check.h"
#include "procfs.h"
#include "runtime_binary.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope probes PID|BINARY [--json]\n\n"
		"Lists what taskscope can observe in a process or an executable, without\n"
		"attaching: the runtime recognised, its version and where it was read, the\n"
		"layout chosen for it, the probe points found (tokio / async-task functions,\n"
		"usdt/taskscope.h probes), the task vtables and future types, and whether\n"
		"DWARF is there for await chains. Given a PID, the layout is also checked\n"
		"against the live process (read-only): its task vtables as mapped, the tasks\n"
		"in memory with their Ids, a walk of the owned-task list.\n\n"
		"Examples:\n"
		"  taskscope probes 4242\n"
		"  taskscope probes ./target/release/server --json\n");
}

static const char *const usdt_kinds[] = {
	"", "task_spawn", "poll_start", "poll_end", "wake", "task_drop", "resource_new",
	"wait_begin", "wait_end", "acquire", "release", "channel_len", "abi_version",
};

/* What probes says of the layout: the descriptor, and how the process confirmed it. */
struct layout_report {
	const char *descriptor;	/* runtime.c descriptor name, "tokio 1.53" */
	bool checked;		/* a process was given and could be read */
	struct layout_check check;
	char note[160];		/* when not checked: why */
};

static const char *degraded_note(const struct layout_report *lr)
{
	if (!lr->checked || lr->check.confirmed)
		return "";
	return "; tasks found in memory, their states and await chains may be wrong: trust "
	       "the probes' counts only";
}

static void write_text(const struct runtime_binary *tb, const char *shown, bool dwarf,
		       const char *dwarf_note, const struct layout_report *lr)
{
	size_t i;

	printf("%s\n", shown);
	printf("runtime: %s %s", tb->runtime_name, tb->version[0] ? tb->version : "(version unknown)");
	if (tb->version_from[0])
		printf(", from %s", tb->version_from);
	else if (tb->desc && tb->desc->since)
		printf(" (no version string: layout of the oldest release assumed)");
	printf("\n");
	if (lr->descriptor)
		printf("layout: %s descriptor; %s%s\n", lr->descriptor,
		       lr->checked ? lr->check.verdict : lr->note, degraded_note(lr));
	printf("symbols: %s; DWARF: %s\n",
	       tb->has_symtab ? "yes" :
	       tb->found_by_shape ? "no (stripped): task vtables found by their shape, "
				    "no wake probes" : "no (stripped)",
	       dwarf ? "yes (await chains, exact future names)" : dwarf_note);
	if (tb->npolls)
		printf("uprobes: %zu poll, %zu wake, %zu dealloc instances\n", tb->npolls,
		       tb->nwakes, tb->ndeallocs);
	if (tb->nspawn_sites) {
		size_t emulated = 0;

		for (i = 0; i < tb->nspawn_sites; i++)
			emulated += tb->spawn_sites[i].emulated;
		printf("spawn sites: %zu (task tree: Id::next's xadd), %zu at an instruction the "
		       "kernel emulates, %zu single-stepped\n", tb->nspawn_sites, emulated,
		       tb->nspawn_sites - emulated);
	} else if (tb->runtime == TS_RT_TOKIO && tb->npolls) {
		printf("spawn sites: none found (no parents: a debug build, or Id::next not "
		       "inlined)\n");
	}
	if (tb->nvtables) {
		printf("task vtables: %zu\n", tb->nvtables);
		for (i = 0; i < tb->nvtables; i++) {
			const struct task_poll_fn *pf = &tb->polls[tb->vtables[i].poll_idx];

			printf("  0x%-10llx %s%s%s\n", (unsigned long long)pf->fn.vaddr,
			       pf->name[0] ? pf->name : "(unnamed)", pf->name_ambiguous ? "?" : "",
			       pf->blocking ? "  (blocking pool, not probed)" : "");
		}
	}
	if (tb->nusdt) {
		printf("usdt probes (provider taskscope): %zu\n", tb->nusdt);
		for (i = 0; i < tb->nusdt; i++)
			printf("  0x%-10llx %-13s %u args%s\n", (unsigned long long)tb->usdt[i].pc,
			       tb->usdt[i].name, tb->usdt[i].spec.nargs,
			       tb->usdt[i].sema ? ", semaphore" : "");
	}
}

static void write_json(const struct runtime_binary *tb, const char *shown, bool dwarf,
		       const char *dwarf_note, const struct layout_report *lr)
{
	struct json_writer jw;
	size_t i;

	jw_init(&jw, stdout);
	jw_object_begin(&jw);
	jw_kv_string(&jw, "target", shown);
	jw_key(&jw, "runtime");
	jw_object_begin(&jw);
	jw_kv_string(&jw, "name", tb->runtime_name);
	jw_kv_string(&jw, "version", tb->version);
	jw_kv_string(&jw, "version_from", tb->version_from);
	jw_object_end(&jw);
	jw_key(&jw, "layout");
	jw_object_begin(&jw);
	jw_kv_string(&jw, "descriptor", lr->descriptor ? lr->descriptor : "");
	jw_kv_bool(&jw, "checked", lr->checked);
	jw_kv_bool(&jw, "confirmed", lr->checked && lr->check.confirmed);
	jw_kv_string(&jw, "verdict", lr->checked ? lr->check.verdict : lr->note);
	if (lr->checked) {
		const struct layout_check *c = &lr->check;

		jw_kv_u64(&jw, "vtables_checked", c->vtables_checked);
		jw_kv_u64(&jw, "vtables_as_mapped", c->vtables_ok);
		jw_kv_u64(&jw, "tasks_in_memory", c->tasks);
		if (c->has_ids) {
			jw_kv_u64(&jw, "ids_read_back", c->ids_ok);
			jw_kv_u64(&jw, "id_counter", c->next_id);
		}
		if (c->has_list) {
			jw_kv_u64(&jw, "owned_lists", c->lists);
			jw_kv_u64(&jw, "owned_list_tasks", c->list_tasks);
			jw_kv_bool(&jw, "owned_list_closed", c->list_closed);
		}
	}
	jw_object_end(&jw);
	jw_kv_bool(&jw, "symbols", tb->has_symtab);
	jw_kv_bool(&jw, "dwarf", dwarf);
	jw_kv_string(&jw, "dwarf_note", dwarf ? "" : dwarf_note);
	jw_kv_u64(&jw, "polls", tb->npolls);
	jw_kv_u64(&jw, "wakes", tb->nwakes);
	jw_kv_u64(&jw, "deallocs", tb->ndeallocs);
	jw_key(&jw, "spawn_sites");
	jw_array_begin(&jw);
	for (i = 0; i < tb->nspawn_sites; i++) {
		jw_object_begin(&jw);
		jw_kv_hex(&jw, "vaddr", tb->spawn_sites[i].vaddr);
		jw_kv_u64(&jw, "reg", tb->spawn_sites[i].reg);
		jw_kv_bool(&jw, "emulated", tb->spawn_sites[i].emulated);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_key(&jw, "tasks_types");
	jw_array_begin(&jw);
	for (i = 0; i < tb->nvtables; i++) {
		const struct task_poll_fn *pf = &tb->polls[tb->vtables[i].poll_idx];

		jw_object_begin(&jw);
		jw_kv_hex(&jw, "poll_fn", pf->fn.vaddr);
		jw_kv_string(&jw, "name", pf->name);
		jw_kv_bool(&jw, "ambiguous", pf->name_ambiguous);
		jw_kv_bool(&jw, "blocking", pf->blocking);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_key(&jw, "usdt");
	jw_array_begin(&jw);
	for (i = 0; i < tb->nusdt; i++) {
		uint32_t k = tb->usdt[i].spec.probe;

		jw_object_begin(&jw);
		jw_kv_string(&jw, "name", k < ARRAY_SIZE(usdt_kinds) ? usdt_kinds[k] : "?");
		jw_kv_hex(&jw, "pc", tb->usdt[i].pc);
		jw_kv_u64(&jw, "args", tb->usdt[i].spec.nargs);
		jw_kv_bool(&jw, "semaphore", tb->usdt[i].sema);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_object_end(&jw);
	jw_finish(&jw);
}

/* Load bias of the binary in the process, from any function of it (PIE). */
static int process_bias(pid_t pid, const struct runtime_binary *tb, uint64_t *bias)
{
	struct proc_maps maps;
	char exe[4096];
	int err;

	if (!tb->npolls)
		return -ENOENT;
	err = proc_exe_path(pid, exe, sizeof(exe));
	if (err)
		return err;
	err = proc_maps__read(pid, &maps);
	if (err)
		return err;
	err = proc_maps__load_bias(&maps, exe, tb->polls[0].fn.vaddr, tb->polls[0].fn.file_off,
				   bias);
	proc_maps__free(&maps);
	return err;
}

static void layout_report(const struct runtime_binary *tb, int pid, struct layout_report *lr)
{
	uint64_t bias;
	int err;

	if (tb->runtime == TS_RT_USDT) {
		/* the probes carry their arguments: no memory layout to choose */
		return;
	}
	lr->descriptor = tb->desc ? tb->desc->name : NULL;
	if (!pid) {
		const struct task_vtable_slots *s = &tb->desc->vtable;
		int n = snprintf(lr->note, sizeof(lr->note),
				 "not checked against a process (give a PID)");

		if (s->scheduler_offset || s->id_offset || s->trailer_offset)
			snprintf(lr->note + n, sizeof(lr->note) - n, "; %zu of %zu task vtables "
				 "store header offsets in its cell's order",
				 layout_check__offsets(tb), tb->nvtables);
		return;
	}
	err = process_bias(pid, tb, &bias);
	if (!err)
		err = layout_check__run(pid, tb, bias, &lr->check);
	if (err) {
		snprintf(lr->note, sizeof(lr->note), "not checked: can't read PID %d's memory: %s",
			 pid, strerror(-err));
		return;
	}
	lr->checked = true;
}

int cmd_probes(int argc, char **argv)
{
	struct runtime_binary tb = {};
	struct layout_report lr = {};
	struct ts_dwarf *dw = NULL;
	char path[4096], shown[4200], note[256] = "", comm[64] = "";
	const char *target = NULL, *no_program;
	bool json = false;
	int i, err, pid = 0;

	ts_err_as_json_if_asked(argc, argv);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return TS_EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			ts_err("unknown option '%s' (see taskscope probes --help)", argv[i]);
			return TS_EXIT_ERROR;
		} else if (!target) {
			target = argv[i];
		} else {
			ts_err("unexpected argument '%s'", argv[i]);
			return TS_EXIT_ERROR;
		}
	}
	if (!target) {
		ts_err("probes needs a PID or a binary (see taskscope probes --help)");
		return TS_EXIT_ERROR;
	}
	if (strspn(target, "0123456789") == strlen(target)) {
		pid = ts_parse_pid(target);
		if (pid < 0)
			return TS_EXIT_ERROR;
		if (!proc_exists(pid)) {
			ts_err("no process with PID %d", pid);
			return TS_EXIT_ERROR;
		}
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		proc_comm(pid, 0, comm, sizeof(comm));
		if ((no_program = proc_no_program(pid))) {
			ts_err("PID %d (%s) %s: nothing to observe", pid, comm, no_program);
			return TS_EXIT_ERROR;
		}
		if (proc_exe_path(pid, shown, sizeof(shown)))
			snprintf(shown, sizeof(shown), "%s", path);
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " (PID %d, %s)", pid,
			 comm);
	} else {
		snprintf(path, sizeof(path), "%s", target);
		snprintf(shown, sizeof(shown), "%s", target);
	}
	err = runtime_binary__load(&tb, path);
	if (err == -ESRCH) {
		ts_err("%s: no supported async runtime (no tokio or async-task task symbols, no "
		       "taskscope USDT probes)%s", shown,
		       !tb.has_symtab && tb.version[0] ? "; it is stripped, but links tokio" : "");
		runtime_binary__free(&tb);
		return TS_EXIT_ERROR;
	}
	if (err) {
		ts_err("can't read %s: %s", shown,
		       err == -ENOEXEC ? "not a valid ELF file" : strerror(-err));
		return TS_EXIT_ERROR;
	}
	if (tb.runtime == TS_RT_TOKIO) {
		if (!ts_dwarf__open(path, NULL, &dw, note, sizeof(note))) {
			size_t k;
			char name[256];

			for (k = 0; k < tb.npolls; k++)
				if (!ts_dwarf__future_name(dw, tb.polls[k].fn.vaddr, name, sizeof(name)) &&
				    name[0]) {
					snprintf(tb.polls[k].name, sizeof(tb.polls[k].name), "%s", name);
					tb.polls[k].name_ambiguous = false;
				}
		}
	} else {
		snprintf(note, sizeof(note), "not used for %s", tb.runtime_name);
	}
	layout_report(&tb, pid, &lr);
	if (json)
		write_json(&tb, shown, dw != NULL, note, &lr);
	else
		write_text(&tb, shown, dw != NULL, note, &lr);
	ts_dwarf__close(dw);
	runtime_binary__free(&tb);
	return TS_EXIT_OK;
}
