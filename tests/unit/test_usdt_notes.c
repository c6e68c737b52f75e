/* USDT note argument specs and probe names: pure parsing. */
#include "usdt_notes.h"
#include "unit.h"

int main(void)
{
	struct ts_usdt_site s = {};

	CHECK("four register args", usdt_parse_args("8@%rdi 8@%rsi 8@%rdx 8@%rcx", &s) == 4 &&
	      s.nargs == 4);
	CHECK("rdi is pt_regs+112", s.args[0].reg_off == 112 && s.args[0].size == 8);
	CHECK("rcx is pt_regs+88", s.args[3].reg_off == 88);
	CHECK("signed 32-bit r8d", usdt_parse_args("-4@%r8d", &s) == 1 &&
	      s.args[0].reg_off == 72 && s.args[0].size == -4);
	CHECK("unsigned 32-bit esi", usdt_parse_args("4@%esi", &s) == 1 &&
	      s.args[0].reg_off == 104 && s.args[0].size == 4);
	CHECK("r15 at offset 0", usdt_parse_args("8@%r15", &s) == 1 && s.args[0].reg_off == 0);
	CHECK("no args", usdt_parse_args("", &s) == 0 && s.nargs == 0);
	CHECK("memory operand refused", usdt_parse_args("8@-8(%rbp)", &s) < 0);
	CHECK("constant refused", usdt_parse_args("4@$5", &s) < 0);
	CHECK("unknown register refused", usdt_parse_args("8@%xmm0", &s) < 0);
	CHECK("more than four args refused",
	      usdt_parse_args("8@%rdi 8@%rsi 8@%rdx 8@%rcx 8@%r8", &s) < 0);
	CHECK("probe kinds", usdt_probe_kind("poll_start") == TS_USDT_POLL_START &&
	      usdt_probe_kind("abi_version") == TS_USDT_ABI_VERSION &&
	      usdt_probe_kind("channel_len") == TS_USDT_CHANNEL_LEN);
	CHECK("unknown probe", usdt_probe_kind("poll_started") == 0 && usdt_probe_kind("") == 0);
	UNIT_EXIT();
}
