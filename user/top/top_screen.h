/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The terminal of `taskscope top`: ncurses set up and torn down, lines of
 * text drawn with their attributes (colours where the terminal has them,
 * bold/reverse where it does not), keys read with a timeout.
 */
#ifndef TS_TOP_SCREEN_H
#define TS_TOP_SCREEN_H

#include <stdbool.h>

#include "top_view.h"

struct top_screen {
	bool open;
	bool colour;
	int rows, cols;
	void *term;		/* SCREEN * */
};

/* Takes over the terminal; -ENOTTY (with no change to it) when there is none. */
int top_screen__open(struct top_screen *sc, bool no_colour);
/* Gives the terminal back (endwin); safe to call twice. */
void top_screen__close(struct top_screen *sc);
/* Draws t from the top line down and shows it. */
void top_screen__draw(struct top_screen *sc, const struct top_text *t);
/* A key, or -1 after timeout_ms (or a signal). Updates rows/cols on KEY_RESIZE. */
int top_screen__key(struct top_screen *sc, int timeout_ms);

#endif
