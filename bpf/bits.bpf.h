/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Bit arithmetic for the BPF programs; plain C, so unit tests include it too. */
#ifndef TS_BITS_BPF_H
#define TS_BITS_BPF_H

/*
 * floor(log2(v)), and 0 for 0: five halvings of the search range instead
 * of a loop of up to 64 steps, which the verifier would walk each time.
 */
static __always_inline u32 log2_u64(u64 v)
{
	u32 r, shift;

	r = (v > 0xffffffffULL) << 5;
	v >>= r;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	return r | (u32)(v >> 1);
}

#endif /* TS_BITS_BPF_H */
