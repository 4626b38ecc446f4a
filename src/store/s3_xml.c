/*
 * s3_xml.c - the little XML the S3 backend reads: ListObjectsV2 pages and
 * the <Code> and <Message> of error responses.
 *
 * Not a general parser: S3 responses are flat, and element text never
 * contains '<' (it is escaped), so an element is found by searching for
 * "<Tag>" and the next "</Tag>" inside known bounds.  Text is unescaped
 * (the five entities and numeric character references); anything malformed
 * is an error, never guessed at.
 */
#include "store/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

/* Find <tag>text</tag> in [p, end): text in *v, *vn; returns the end of the
 * element or NULL. */
static const char *elem(const char *p, const char *end, const char *tag,
			const char **v, size_t *vn)
{
	char open[64], close[64];
	size_t lo = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	size_t lc = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	const char *a, *b;

	if (p >= end)
		return NULL;
	a = memmem(p, (size_t)(end - p), open, lo);
	if (!a)
		return NULL;
	a += lo;
	b = memmem(a, (size_t)(end - a), close, lc);
	if (!b)
		return NULL;
	*v = a;
	*vn = (size_t)(b - a);
	return b + lc;
}

/* Append code point cp as UTF-8; returns bytes written or 0 if invalid. */
static size_t utf8_put(unsigned long cp, char *o)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode one reference "&...;" (ent, n bytes, without & and ;) into o. */
static size_t entity(const char *ent, size_t n, char *o)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' },
	};
	unsigned long cp = 0;
	size_t i = 1;
	int base = 10;

	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if (strlen(named[k].name) == n && !memcmp(ent, named[k].name, n)) {
			o[0] = named[k].c;
			return 1;
		}
	if (n < 2 || ent[0] != '#')
		return 0;
	if (ent[1] == 'x') {
		base = 16;
		i = 2;
	}
	if (i >= n || n - i > 8)
		return 0;
	for (; i < n; i++) {
		char c = ent[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return 0;
		cp = cp * (unsigned long)base + (unsigned long)d;
	}
	return utf8_put(cp, o);
}

char *s3_xml_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	const char *end = s + n, *semi;
	size_t k;

	if (!out) {
		err_sys("xml text of %zu bytes", n);
		return NULL;
	}
	while (s < end) {
		if (*s == '\0') {
			free(out);
			err_set("xml: NUL byte in text");
			return NULL;
		}
		if (*s != '&') {
			*o++ = *s++;
			continue;
		}
		semi = memchr(s, ';', (size_t)(end - s));
		k = semi && semi - s <= 12 ? entity(s + 1, (size_t)(semi - s - 1), o) : 0;
		if (!k) {
			free(out);
			err_set("xml: bad character reference '%.*s'",
				(int)(end - s < 12 ? end - s : 12), s);
			return NULL;
		}
		o += k;
		s = semi + 1;
	}
	*o = '\0';
	return out;
}

static int parse_u64(const char *v, size_t n, uint64_t *out)
{
	char tmp[32], *e;

	if (n == 0 || n >= sizeof(tmp))
		return err_set("xml: bad <Size> '%.*s'", (int)(n < 32 ? n : 32), v);
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (tmp[0] < '0' || tmp[0] > '9')
		return err_set("xml: bad <Size> '%s'", tmp);
	errno = 0;
	*out = strtoull(tmp, &e, 10);
	if (errno || *e)
		return err_set("xml: bad <Size> '%s'", tmp);
	return 0;
}

/* "2026-11-26T15:10:48.852Z" -> unix seconds. */
static int parse_time(const char *v, size_t n, int64_t *out)
{
	char tmp[40];
	struct tm tm = { 0 };
	int used = 0;

	if (n >= sizeof(tmp))
		return err_set("xml: bad <LastModified>");
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (sscanf(tmp, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
	    tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return err_set("xml: bad <LastModified> '%s'", tmp);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* One <Contents> block [p, end). */
static int parse_entry(const char *p, const char *end, const char *strip,
		       backend_list_cb cb, void *arg)
{
	const char *v;
	size_t vn, sl = strlen(strip);
	uint64_t size = 0;
	int64_t mtime = 0;
	char *key;
	int rc = 0;

	if (!elem(p, end, "Key", &v, &vn) || vn == 0)
		return err_set("s3 list: <Contents> without <Key>");
	key = s3_xml_unescape(v, vn);
	if (!key)
		return -1;
	if (!elem(p, end, "Size", &v, &vn) || parse_u64(v, vn, &size) < 0 ||
	    (elem(p, end, "LastModified", &v, &vn) && parse_time(v, vn, &mtime) < 0))
		rc = err_wrap("s3 list: key '%s'", key);
	else if (!strncmp(key, strip, sl) && key[sl])
		rc = cb(key + sl, size, mtime, arg);
	free(key);
	return rc;
}

static int parse_page_info(const char *xml, const char *end,
			   struct s3_list_page *page)
{
	const char *v;
	size_t vn;

	page->truncated = 0;
	page->next_token = NULL;
	if (elem(xml, end, "IsTruncated", &v, &vn))
		page->truncated = vn == 4 && !memcmp(v, "true", 4);
	if (page->truncated) {
		if (!elem(xml, end, "NextContinuationToken", &v, &vn) || vn == 0)
			return err_set("s3 list: truncated page without a continuation token");
		page->next_token = s3_xml_unescape(v, vn);
		if (!page->next_token)
			return -1;
	}
	return 0;
}

int s3_parse_list(const char *xml, size_t len, const char *strip,
		  backend_list_cb cb, void *arg, struct s3_list_page *page)
{
	const char *end = xml + len, *p = xml, *v, *next;
	size_t vn;
	int rc;

	page->truncated = 0;
	page->next_token = NULL;
	if (!memmem(xml, len, "<ListBucketResult", 17))
		return err_set("s3 list: response is not a ListBucketResult");
	if (parse_page_info(xml, end, page) < 0)
		return -1;
	while ((next = elem(p, end, "Contents", &v, &vn))) {
		rc = parse_entry(v, v + vn, strip, cb, arg);
		if (rc) {
			free(page->next_token);
			page->next_token = NULL;
			return rc;
		}
		p = next;
	}
	return 0;
}

void s3_xml_field(const char *body, size_t len, const char *tag, char *out,
		  size_t cap)
{
	const char *v;
	size_t vn;

	out[0] = '\0';
	if (!elem(body, body + len, tag, &v, &vn))
		return;
	if (vn >= cap)
		vn = cap - 1;
	for (size_t i = 0; i < vn; i++)     /* one line, nothing to the terminal */
		out[i] = (unsigned char)v[i] < ' ' || v[i] == 0x7f ? ' ' : v[i];
	out[vn] = '\0';
}
