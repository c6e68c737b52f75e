/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "dwarf_types.h"

#define PEEL_MAX	16

struct dw_type_cache {
	struct dw_type **slots;	/* open addressing by DIE offset */
	Dwarf_Off *keys;
	size_t cap, n;
	struct dw_type **all;	/* each distinct type once, for freeing */
	size_t nall, capall;
};

static size_t slot_of(Dwarf_Off off, size_t cap)
{
	uint64_t h = off * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 17) & (cap - 1);
}

static struct dw_type *cache_get(struct dw_type_cache *c, Dwarf_Off off)
{
	size_t i;

	if (!c || !c->cap)
		return NULL;
	for (i = slot_of(off, c->cap); c->keys[i]; i = (i + 1) & (c->cap - 1))
		if (c->keys[i] == off)
			return c->slots[i];
	return NULL;
}

static int cache_put(struct dw_type_cache *c, Dwarf_Off off, struct dw_type *t)
{
	size_t i;

	if ((c->n + 1) * 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024, j;
		Dwarf_Off *keys = calloc(cap, sizeof(*keys));
		struct dw_type **slots = calloc(cap, sizeof(*slots));

		if (!keys || !slots) {
			free(keys);
			free(slots);
			return -ENOMEM;
		}
		for (j = 0; j < c->cap; j++) {
			if (!c->keys[j])
				continue;
			for (i = slot_of(c->keys[j], cap); keys[i]; i = (i + 1) & (cap - 1))
				;
			keys[i] = c->keys[j];
			slots[i] = c->slots[j];
		}
		free(c->keys);
		free(c->slots);
		c->keys = keys;
		c->slots = slots;
		c->cap = cap;
	}
	for (i = slot_of(off, c->cap); c->keys[i]; i = (i + 1) & (c->cap - 1))
		if (c->keys[i] == off)
			return 0;
	c->keys[i] = off;
	c->slots[i] = t;
	c->n++;
	return 0;
}

void dw_types__free(struct ts_dwarf *dw)
{
	struct dw_type_cache *c = dw->types;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nall; i++) {
		free(c->all[i]->qname);
		free(c->all[i]->members);
		free(c->all[i]->variants);
		free(c->all[i]);
	}
	free(c->all);
	free(c->keys);
	free(c->slots);
	free(c);
	dw->types = NULL;
}

static bool ref_attr(Dwarf_Die *die, int name, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	return dwarf_attr(die, name, &a) && dwarf_formref_die(&a, out);
}

static bool udata_attr(Dwarf_Die *die, int name, uint64_t *v)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (!dwarf_attr(die, name, &a) || dwarf_formudata(&a, &w))
		return false;
	*v = w;
	return true;
}

/* DW_AT_data_member_location: a constant, or DW_OP_plus_uconst N. */
static uint64_t member_location(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	Dwarf_Op *ops;
	size_t nops;

	if (!dwarf_attr(die, DW_AT_data_member_location, &a))
		return 0;
	if (dwarf_formudata(&a, &w) == 0)
		return w;
	if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 && ops[0].atom == DW_OP_plus_uconst)
		return ops[0].number;
	return 0;
}

static Dwarf_Off type_ref(Dwarf_Die *die)
{
	Dwarf_Die t;

	return ref_attr(die, DW_AT_type, &t) ? dwarf_dieoffset(&t) : 0;
}

static int add_member(struct dw_type *t, const struct dw_member *m)
{
	struct dw_member *nm = ts_array_add(&t->members, &t->nmembers, &t->cap_members);

	if (!nm)
		return -ENOMEM;
	*nm = *m;
	return 0;
}

static int add_variant(struct dw_type *t, const struct dw_variant *v)
{
	struct dw_variant *nv = ts_array_add(&t->variants, &t->nvariants, &t->cap_variants);

	if (!nv)
		return -ENOMEM;
	*nv = *v;
	return 0;
}

static int read_variant_part(struct dw_type *t, Dwarf_Die *part)
{
	Dwarf_Die discr, v, m, mt;
	int err;

	t->has_variants = true;
	if (ref_attr(part, DW_AT_discr, &discr)) {
		const char *dn = dwarf_diename(&discr);
		Dwarf_Word sz = 0;

		t->has_discr = true;
		t->discr_off = member_location(&discr);
		if (ref_attr(&discr, DW_AT_type, &mt)) {
			int s = dwarf_bytesize(&mt);

			sz = s > 0 ? (Dwarf_Word)s : 0;
		}
		t->discr_size = sz;
		t->coroutine = dn && !strcmp(dn, "__state");
	}
	if (dwarf_child(part, &v) != 0)
		return 0;
	do {
		struct dw_variant var = {};
		Dwarf_Die vt;
		int line;

		if (dwarf_tag(&v) != DW_TAG_variant)
			continue;
		var.has_discr = udata_attr(&v, DW_AT_discr_value, &var.discr);
		if (dwarf_child(&v, &m) != 0)
			continue;
		while (dwarf_tag(&m) != DW_TAG_member)
			if (dwarf_siblingof(&m, &m) != 0)
				goto next;
		var.name = dwarf_diename(&m);
		var.off = member_location(&m);
		if (ref_attr(&m, DW_AT_type, &vt)) {
			var.type = dwarf_dieoffset(&vt);
			var.type_name = dwarf_diename(&vt);
		}
		var.file = dwarf_decl_file(&m);
		if (var.file && var.file[0] != '/') {
			Dwarf_Die cu;
			Dwarf_Attribute at;

			if (dwarf_diecu(&m, &cu, NULL, NULL))
				var.comp_dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &at));
		}
		if (dwarf_decl_line(&m, &line) == 0 && line > 0)
			var.line = (uint32_t)line;
		err = add_variant(t, &var);
		if (err)
			return err;
next:;
	} while (dwarf_siblingof(&v, &v) == 0);
	return 0;
}

static struct dw_type *build_type(struct ts_dwarf *dw, Dwarf_Die *die)
{
	struct dw_type *t = calloc(1, sizeof(*t));
	Dwarf_Die child, sub;
	Dwarf_Word w;
	int tag = dwarf_tag(die), s;

	if (!t)
		return NULL;
	t->off = dwarf_dieoffset(die);
	t->name = dwarf_diename(die);
	s = dwarf_bytesize(die);
	t->size = s > 0 ? (uint64_t)s : 0;
	switch (tag) {
	case DW_TAG_base_type:
		t->kind = DW_K_BASE;
		if (udata_attr(die, DW_AT_encoding, &w))
			t->encoding = (int)w;
		break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		t->kind = DW_K_PTR;
		t->size = t->size ? t->size : 8;
		t->target = type_ref(die);
		break;
	case DW_TAG_enumeration_type:
		t->kind = DW_K_CENUM;
		/* enumerators as members: name, and the value in off */
		if (dwarf_child(die, &child) != 0)
			break;
		do {
			struct dw_member m = { .name = dwarf_diename(&child) };
			Dwarf_Attribute a;
			Dwarf_Sword sv;

			if (dwarf_tag(&child) != DW_TAG_enumerator ||
			    !dwarf_attr(&child, DW_AT_const_value, &a))
				continue;
			if (dwarf_formudata(&a, &w) == 0)
				m.off = w;
			else if (dwarf_formsdata(&a, &sv) == 0)
				m.off = (uint64_t)sv;
			else
				continue;
			if (add_member(t, &m))
				goto fail;
		} while (dwarf_siblingof(&child, &child) == 0);
		break;
	case DW_TAG_array_type:
		t->kind = DW_K_ARRAY;
		t->target = type_ref(die);
		if (dwarf_child(die, &sub) == 0 && (udata_attr(&sub, DW_AT_count, &w) ||
						    (udata_attr(&sub, DW_AT_upper_bound, &w) && ++w)))
			t->count = w;
		break;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_class_type:
		t->kind = DW_K_STRUCT;
		if (dwarf_child(die, &child) != 0)
			break;
		do {
			int ct = dwarf_tag(&child);

			if (ct == DW_TAG_member) {
				struct dw_member m = {
					.name = dwarf_diename(&child),
					.off = member_location(&child),
					.type = type_ref(&child),
				};
				Dwarf_Attribute a;

				/* statics carry no location in the value */
				if (dwarf_attr(&child, DW_AT_external, &a) ||
				    dwarf_attr(&child, DW_AT_declaration, &a))
					continue;
				if (add_member(t, &m))
					goto fail;
			} else if (ct == DW_TAG_variant_part && !t->has_variants) {
				if (read_variant_part(t, &child))
					goto fail;
			} else if (ct == DW_TAG_template_type_parameter && !t->tparam) {
				t->tparam = type_ref(&child);
			}
		} while (dwarf_siblingof(&child, &child) == 0);
		break;
	default:
		t->kind = DW_K_OTHER;
	}
	return t;
fail:
	free(t->members);
	free(t->variants);
	free(t);
	return NULL;
}

static bool is_qualifier(int tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
	       tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type;
}

const struct dw_type *dw_type__get(struct ts_dwarf *dw, Dwarf_Off off)
{
	struct dw_type_cache *c = dw->types;
	struct dw_type *t;
	Dwarf_Die die;
	int i;

	if (!off)
		return NULL;
	t = cache_get(c, off);
	if (t)
		return t;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		dw->types = c;
	}
	if (!dwarf_offdie(dw->dbg, off, &die))
		return NULL;
	for (i = 0; i < PEEL_MAX && is_qualifier(dwarf_tag(&die)); i++) {
		Dwarf_Die next;

		if (!ref_attr(&die, DW_AT_type, &next))
			return NULL;	/* const void */
		die = next;
	}
	t = cache_get(c, dwarf_dieoffset(&die));
	if (!t) {
		t = build_type(dw, &die);
		if (!t)
			return NULL;
		if (ts_array_reserve(&c->all, &c->capall, c->nall + 1)) {
			free(t->members);
			free(t->variants);
			free(t);
			return NULL;
		}
		c->all[c->nall++] = t;
		if (cache_put(c, t->off, t))
			return NULL;
	}
	if (off != t->off && cache_put(c, off, t))
		return NULL;
	return t;
}

const char *dw_type__qname(struct ts_dwarf *dw, const struct dw_type *ct)
{
	struct dw_type *t = (struct dw_type *)ct;	/* the cache owns it; qname is lazy */
	char buf[1024];

	if (t->qname)
		return t->qname;
	if (t->kind == DW_K_PTR && !t->name) {
		const struct dw_type *to = dw_type__get(dw, t->target);

		snprintf(buf, sizeof(buf), "*%s", to ? dw_type__qname(dw, to) : "void");
	} else if (!t->name) {
		snprintf(buf, sizeof(buf), "?");
	} else if (t->kind == DW_K_BASE || t->kind == DW_K_PTR ||
		   dw_index__qualified_name(dw, t->off, buf, sizeof(buf)) < 0) {
		snprintf(buf, sizeof(buf), "%s", t->name);
	}
	t->qname = strdup(buf);
	return t->qname ? t->qname : "?";
}

const struct dw_member *dw_type__member(const struct dw_type *t, const char *name)
{
	size_t i;

	if (!t)
		return NULL;
	for (i = 0; i < t->nmembers; i++)
		if (t->members[i].name && !strcmp(t->members[i].name, name))
			return &t->members[i];
	return NULL;
}

int dw_type__find_deep(struct ts_dwarf *dw, const struct dw_type *t, const char *name, int depth,
		       uint64_t *off, const struct dw_type **mt)
{
	const struct dw_member *m;
	size_t i;

	if (!t || t->kind != DW_K_STRUCT || depth < 0)
		return -ENOENT;
	m = dw_type__member(t, name);
	if (m) {
		*off = m->off;
		*mt = dw_type__get(dw, m->type);
		return *mt ? 0 : -ENOENT;
	}
	for (i = 0; i < t->nmembers; i++) {
		const struct dw_type *sub = dw_type__get(dw, t->members[i].type);
		uint64_t o;

		if (sub && dw_type__find_deep(dw, sub, name, depth - 1, &o, mt) == 0) {
			*off = t->members[i].off + o;
			return 0;
		}
	}
	return -ENOENT;
}

int dw_type__find_path(struct ts_dwarf *dw, const struct dw_type *t, const char *path,
		       uint64_t *off, const struct dw_type **mt)
{
	char part[128];
	uint64_t o = 0;

	while (*path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		const struct dw_member *m;

		if (n >= sizeof(part))
			return -EINVAL;
		memcpy(part, path, n);
		part[n] = '\0';
		m = dw_type__member(t, part);
		if (!m)
			return -ENOENT;
		o += m->off;
		t = dw_type__get(dw, m->type);
		if (!t)
			return -ENOENT;
		path += n + (dot ? 1 : 0);
	}
	*off = o;
	*mt = t;
	return 0;
}

int dw_type__first_pointer(struct ts_dwarf *dw, const struct dw_type *t, int depth,
			   uint64_t *off, const struct dw_type **pt)
{
	size_t i;

	if (!t || depth < 0)
		return -ENOENT;
	if (t->kind == DW_K_PTR) {
		*off = 0;
		*pt = t;
		return 0;
	}
	if (t->kind != DW_K_STRUCT || t->has_variants)
		return -ENOENT;
	for (i = 0; i < t->nmembers; i++) {
		const struct dw_type *sub = dw_type__get(dw, t->members[i].type);
		uint64_t o;

		if (sub && dw_type__first_pointer(dw, sub, depth - 1, &o, pt) == 0) {
			*off = t->members[i].off + o;
			return 0;
		}
	}
	return -ENOENT;
}

bool dw_type__is_zst(const struct dw_type *t)
{
	return t && t->size == 0;
}
