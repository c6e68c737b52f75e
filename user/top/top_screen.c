/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "top_screen.h"

static attr_t attrs[TOP_A_MAX];

/* htop's palette where there is colour; bold and reverse video where there is not. */
static void set_attrs(bool colour)
{
	static const struct {
		short fg, bg;
		attr_t extra;
		attr_t mono;
	} pal[TOP_A_MAX] = {
		[TOP_A_NORMAL] = { -1, -1, 0, 0 },
		[TOP_A_TITLE] = { COLOR_CYAN, -1, A_BOLD, A_BOLD },
		[TOP_A_COLHEAD] = { COLOR_BLACK, COLOR_GREEN, 0, A_REVERSE },
		[TOP_A_COLHEAD_SORT] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
		[TOP_A_SELECTED] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
		[TOP_A_STALL] = { COLOR_RED, -1, A_BOLD, A_BOLD },
		[TOP_A_STALL_SELECTED] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD },
		[TOP_A_DIM] = { -1, -1, A_DIM, A_DIM },
		[TOP_A_BAR] = { COLOR_GREEN, -1, 0, 0 },
		[TOP_A_WARN] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
		[TOP_A_KEY] = { -1, -1, A_BOLD, A_BOLD },
		[TOP_A_FOOTER] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
	};
	int a;

	for (a = 0; a < TOP_A_MAX; a++) {
		if (!colour) {
			attrs[a] = pal[a].mono;
			continue;
		}
		if (pal[a].fg == -1 && pal[a].bg == -1) {
			attrs[a] = pal[a].extra;
			continue;
		}
		init_pair((short)(a + 1), pal[a].fg, pal[a].bg);
		attrs[a] = COLOR_PAIR(a + 1) | pal[a].extra;
	}
}

int top_screen__open(struct top_screen *sc, bool no_colour)
{
	SCREEN *scr;

	memset(sc, 0, sizeof(*sc));
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return -ENOTTY;
	/* newterm, unlike initscr, returns NULL instead of exiting */
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return -ENOTTY;
	sc->term = scr;
	sc->open = true;
	cbreak();		/* Ctrl-C still raises SIGINT: the caller's handler ends the loop */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);	/* Esc closes at once; the default waits a second for a sequence */
	curs_set(0);
	sc->colour = !no_colour && has_colors();
	if (sc->colour) {
		start_color();
		use_default_colors();
	}
	set_attrs(sc->colour);
	getmaxyx(stdscr, sc->rows, sc->cols);
	return 0;
}

void top_screen__close(struct top_screen *sc)
{
	if (!sc->open)
		return;
	curs_set(1);
	endwin();
	delscreen(sc->term);
	sc->open = false;
	sc->term = NULL;
}

/* Byte offset of glyph col in s (or its end). */
static size_t glyph_off(const char *s, int col)
{
	size_t i = 0;

	while (s[i] && col > 0) {
		i++;
		while (s[i] && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		col--;
	}
	return i;
}

static void draw_part(int y, int col, const char *s, int ncols, attr_t a, int width)
{
	size_t from = glyph_off(s, col), to;

	if (col >= width)
		return;
	if (col + ncols > width)
		ncols = width - col;
	to = from + glyph_off(s + from, ncols);
	attrset(a);
	mvaddnstr(y, col, s + from, (int)(to - from));
}

void top_screen__draw(struct top_screen *sc, const struct top_text *t)
{
	size_t i;

	erase();
	for (i = 0; i < t->n && (int)i < sc->rows; i++) {
		const struct top_line *l = &t->lines[i];
		int w = top_str_width(l->text), k, x;

		draw_part((int)i, 0, l->text, w, attrs[l->attr], sc->cols);
		/* a highlighted line runs to the edge */
		if (attrs[l->attr] & (A_REVERSE | A_COLOR)) {
			attrset(attrs[l->attr]);
			for (x = w; x < sc->cols; x++)
				mvaddch((int)i, x, ' ');
		}
		for (k = 0; k < l->nspans; k++)
			draw_part((int)i, l->spans[k].col, l->text, l->spans[k].len,
				  attrs[l->spans[k].attr], sc->cols);
	}
	attrset(A_NORMAL);
	refresh();
}

int top_screen__key(struct top_screen *sc, int timeout_ms)
{
	int key;

	timeout(timeout_ms < 0 ? 0 : timeout_ms);
	key = getch();
	if (key == KEY_RESIZE)
		getmaxyx(stdscr, sc->rows, sc->cols);
	return key == ERR ? -1 : key;
}
