// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A flame graph from folded stacks, as SVG. Debian 12 packages no flame
 * graph renderer (`apt-cache search flamegraph` finds nothing), so this is
 * written here: one rectangle per frame, width proportional to its weight,
 * a text label when it fits, a <title> tooltip with the weight; no
 * JavaScript. The folded input reads in Brendan Gregg's flamegraph.pl or
 * speedscope as well.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "profile.h"

#define SVG_WIDTH	1200.0
#define SVG_ROW		17.0
#define SVG_TOP		44.0	/* title and legend */
#define SVG_PAD		10.0
#define SVG_CHAR_W	7.0	/* average glyph width of 12px monospace */
#define SVG_MIN_W	0.3	/* narrower frames are not drawn */

struct flame_node {
	const char *name;
	size_t len;
	uint64_t weight;
	int depth;
	size_t first_child, next_sibling;	/* 0: none (node 0 is the root) */
};

static long find_or_add_child(struct flame_node **nodes, size_t *n, size_t *cap, size_t parent,
			      const char *name, size_t len)
{
	struct flame_node *c;
	size_t i, last = 0, idx;

	for (i = (*nodes)[parent].first_child; i; i = (*nodes)[i].next_sibling) {
		if ((*nodes)[i].len == len && !memcmp((*nodes)[i].name, name, len))
			return (long)i;
		last = i;
	}
	idx = *n;
	c = ts_array_add(nodes, n, cap);
	if (!c)
		return -ENOMEM;
	c->name = name;
	c->len = len;
	c->depth = (*nodes)[parent].depth + 1;
	if (last)
		(*nodes)[last].next_sibling = idx;
	else
		(*nodes)[parent].first_child = idx;
	return (long)idx;
}

/* "a;b;c 42": the stack's length and the weight; false when not that shape. */
static bool parse_line(const char *line, size_t *stack_len, uint64_t *weight)
{
	const char *sp = strrchr(line, ' ');
	char *end;

	if (!sp || sp == line || !sp[1])
		return false;
	*weight = strtoull(sp + 1, &end, 10);
	if (*end && *end != '\n')
		return false;
	*stack_len = (size_t)(sp - line);
	return *weight > 0;
}

int ts_flame_layout(char **lines, size_t nlines, struct ts_flame_rect **out, uint64_t *total,
		    int *max_depth)
{
	struct flame_node *nodes = NULL;
	struct ts_flame_rect *rects = NULL;
	size_t n = 0, cap = 0, nrects = 0, cap_rects = 0, i, *stack = NULL;
	double *offs = NULL;
	size_t sp = 0;
	int err = 0;

	*out = NULL;
	*total = 0;
	*max_depth = 0;
	if (!ts_array_add(&nodes, &n, &cap))	/* the root */
		return -ENOMEM;
	for (i = 0; i < nlines; i++) {
		size_t len, at = 0, cur = 0;
		uint64_t w;

		if (!parse_line(lines[i], &len, &w))
			continue;
		nodes[0].weight += w;
		while (at < len) {
			const char *semi = memchr(lines[i] + at, ';', len - at);
			size_t flen = semi ? (size_t)(semi - (lines[i] + at)) : len - at;
			long c = find_or_add_child(&nodes, &n, &cap, cur, lines[i] + at, flen);

			if (c < 0) {
				err = (int)c;
				goto cleanup;
			}
			cur = (size_t)c;
			nodes[cur].weight += w;
			if (nodes[cur].depth > *max_depth)
				*max_depth = nodes[cur].depth;
			at += flen + 1;
		}
	}
	*total = nodes[0].weight;
	/* depth first, children left to right at their parent's x plus the siblings before */
	stack = calloc(n, sizeof(*stack));
	offs = calloc(n, sizeof(*offs));
	if (!stack || !offs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = nodes[0].first_child; i; i = nodes[i].next_sibling)
		stack[sp++] = i;
	/* offs[node]: its x; pushed in order, so fill x while pushing */
	{
		double x = 0;

		for (i = 0; i < sp; i++) {
			offs[stack[i]] = x;
			x += (double)nodes[stack[i]].weight;
		}
	}
	while (sp) {
		size_t node = stack[--sp], c;
		double x = offs[node];
		struct ts_flame_rect *r = ts_array_add(&rects, &nrects, &cap_rects);

		if (!r) {
			err = -ENOMEM;
			goto cleanup;
		}
		r->name = nodes[node].name;
		r->name_len = nodes[node].len;
		r->depth = nodes[node].depth - 1;
		r->x = x;
		r->width = (double)nodes[node].weight;
		r->weight = nodes[node].weight;
		for (c = nodes[node].first_child; c; c = nodes[c].next_sibling) {
			offs[c] = x;
			x += (double)nodes[c].weight;
			stack[sp++] = c;
		}
	}
	if (*max_depth)
		(*max_depth)--;
	*out = rects;
	rects = NULL;
	err = (int)nrects;
cleanup:
	free(rects);
	free(stack);
	free(offs);
	free(nodes);
	return err;
}

static void xml_text(FILE *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if ((unsigned char)s[i] >= 0x20)
				fputc(s[i], out);
		}
	}
}

/* Waits blue, busy time red, code frames yellow to orange by a hash of the name (stable). */
static void frame_colour(const char *name, size_t len, char *buf, size_t buflen)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	if (len >= 6 && !memcmp(name, "[busy]", 6))
		snprintf(buf, buflen, "rgb(%u,%u,%u)", 230 + h % 25, 60 + h % 40, 50);
	else if (len > 6 && name[0] == '[' && !memcmp(name + len - 6, " wait]", 6))
		snprintf(buf, buflen, "rgb(%u,%u,%u)", 80 + h % 40, 140 + h % 50, 220 + h % 35);
	else
		snprintf(buf, buflen, "rgb(%u,%u,%u)", 225 + h % 30, 150 + (h >> 8) % 70,
			 40 + (h >> 16) % 50);
}

int ts_flame_write_svg(FILE *out, char **lines, size_t nlines, const char *title)
{
	struct ts_flame_rect *rects;
	uint64_t total;
	int max_depth, n, i;
	double scale, height;
	char colour[32];

	n = ts_flame_layout(lines, nlines, &rects, &total, &max_depth);
	if (n < 0)
		return n;
	height = SVG_TOP + (max_depth + 1) * SVG_ROW + SVG_PAD;
	scale = total ? (SVG_WIDTH - 2 * SVG_PAD) / (double)total : 0;
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
		"xmlns=\"http://www.w3.org/2000/svg\" font-family=\"monospace\" font-size=\"12\">\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f0\"/>\n"
		"<text x=\"%.0f\" y=\"20\" text-anchor=\"middle\" font-size=\"16\">",
		SVG_WIDTH, height, SVG_WIDTH / 2);
	xml_text(out, title, strlen(title));
	fprintf(out, "</text>\n<text x=\"%.0f\" y=\"36\" font-size=\"11\" fill=\"#555\">"
		"width: time in us (%llu in all); blue: waiting at an await, red: busy in a poll"
		"</text>\n", SVG_PAD, (unsigned long long)total);
	for (i = 0; i < n; i++) {
		const struct ts_flame_rect *r = &rects[i];
		double x = SVG_PAD + r->x * scale, w = r->width * scale;
		double y = height - SVG_PAD - (r->depth + 1) * SVG_ROW;
		size_t fit;

		if (w < SVG_MIN_W)
			continue;
		frame_colour(r->name, r->name_len, colour, sizeof(colour));
		fprintf(out, "<g><title>");
		xml_text(out, r->name, r->name_len);
		fprintf(out, " (%llu us, %.2f%%)</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\" fill=\"%s\" rx=\"2\"/>", (unsigned long long)r->weight,
			total ? 100.0 * (double)r->weight / (double)total : 0.0, x, y, w,
			SVG_ROW - 1, colour);
		fit = w > 3 * SVG_CHAR_W ? (size_t)((w - 6) / SVG_CHAR_W) : 0;
		if (fit) {
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + SVG_ROW - 5);
			if (fit >= r->name_len) {
				xml_text(out, r->name, r->name_len);
			} else {
				size_t cut = fit - 2;

				/* never inside a UTF-8 sequence: the SVG must stay valid XML */
				while (cut && ((unsigned char)r->name[cut] & 0xc0) == 0x80)
					cut--;
				xml_text(out, r->name, cut);
				fputs("..", out);
			}
			fputs("</text>", out);
		}
		fputs("</g>\n", out);
	}
	fputs("</svg>\n", out);
	free(rects);
	return 0;
}
