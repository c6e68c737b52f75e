/* The report's JSON: well-formed, the documented keys, strings escaped. */
#include <ctype.h>
#include <stdlib.h>

#include "report.h"
#include "unit.h"

/* A strict little JSON checker: returns the end of one value or NULL. */
static const char *value(const char *p);

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *number(const char *p)
{
	char *end;

	strtod(p, &end);
	return end == p ? NULL : end;
}

static const char *value(const char *p)
{
	p = ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = string(ws(p));
				if (!p)
					return NULL;
				p = ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = value(p);
			if (!p)
				return NULL;
			p = ws(p);
			if (*p == ',') {
				p++;
				continue;
			}
			return *p == close ? p + 1 : NULL;
		}
	}
	if (*p == '"')
		return string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return number(p);
}

static bool valid_json(const char *s)
{
	const char *end = value(s);

	return end && *ws(end) == '\0';
}

int main(void)
{
	struct ts_process p = {};
	struct ts_rules_config cfg;
	struct ts_report_opts o = { .json = true, .stall_ns = 1000000000ULL,
				       .long_poll_ns = 100000000ULL };
	struct ts_finding *f;
	struct ts_task *t;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int n;

	p.pid = 42;
	snprintf(p.comm, sizeof(p.comm), "we\"ird\\name");
	snprintf(p.exe, sizeof(p.exe), "/tmp/a\tb");
	snprintf(p.runtime, sizeof(p.runtime), "tokio");
	snprintf(p.runtime_version, sizeof(p.runtime_version), "1.24.2");
	p.attach_ns = 1;
	p.snapshot_ns = 2000000001ULL;
	p.observed_ns = 2000000000ULL;
	t = ts_process__add_task(&p);
	t->task_id = 7;
	t->header = 0xabc0;
	t->name = ts_intern("app::wait");
	t->state = TS_TASK_IDLE;
	t->since_attach = true;
	t->in_state_ns = 2000000000ULL;
	t->st.hist[3] = 5;
	ts_process__add_worker(&p)->tid = 9;

	ts_rules_config__default(&cfg);
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("one idle finding", n == 1);

	out = open_memstream(&buf, &len);
	ts_report_write(out, &p, f, (size_t)n, &o);
	fclose(out);
	CHECK("json is well-formed", valid_json(buf));
	CHECK("json escapes quotes and backslashes", strstr(buf, "\"comm\":\"we\\\"ird\\\\name\""));
	CHECK("json escapes tabs", strstr(buf, "\"exe\":\"/tmp/a\\tb\""));
	CHECK("json task keys", strstr(buf, "\"id\":7,\"header\":\"0xabc0\",\"name\":\"app::wait\""));
	CHECK("json state", strstr(buf, "\"state\":\"idle\"") && strstr(buf, "\"since_attach\":true"));
	CHECK("json histogram", strstr(buf, "\"poll_hist_log2_us\":[0,0,0,5,0"));
	CHECK("json stall", strstr(buf, "\"stalls\":[{\"kind\":\"idle\",\"task_id\":7"));
	CHECK("json runtime", strstr(buf, "\"runtime\":{\"name\":\"tokio\",\"version\":\"1.24.2\"}"));
	CHECK("json workers", strstr(buf, "\"workers\":[{\"tid\":9"));
	CHECK("validator rejects broken json", !valid_json("{\"a\":1,}") && !valid_json("[1 2]"));
	free(buf);

	buf = NULL;
	o.json = false;
	out = open_memstream(&buf, &len);
	ts_report_write(out, &p, f, (size_t)n, &o);
	fclose(out);
	CHECK("text: header", strstr(buf, "PID 42 (we\"ird\\name)"));
	CHECK("text: idle lower bound shown", strstr(buf, ">=2.00s"));
	CHECK("text: stall listed", strstr(buf, "STALLS (1, waits >= 1000 ms, polls >= 100 ms)") &&
	      strstr(buf, "[idle] task 7 app::wait: idle for >= 2.00 s (since before attach)"));
	free(buf);
	free(f);
	ts_process__free(&p);
	UNIT_EXIT();
}
