/*
 * u-s3sign.c - unit tests of the S3 backend's pure parts: SigV4 against the
 * examples published in the AWS S3 documentation ("Signature Calculations
 * for the Authorization Header"), percent-encoding, canonical queries, XML
 * unescaping and ListObjectsV2 parsing.  No server needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/s3.h"
#include "store/s3_http.h"
#include "store/s3_sign.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE "20130524T000000Z"
#define HOST "examplebucket.s3.amazonaws.com"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int failures;

static void expect_str(const char *what, const char *got, const char *want)
{
	if (got && !strcmp(got, want)) {
		printf("ok   %s\n", what);
		return;
	}
	printf("FAIL %s\n  got:  %s\n  want: %s\n", what, got ? got : "(null)", want);
	failures++;
}

static void expect_sig(const char *what, struct s3_sigreq *r, const char *want)
{
	char auth[S3_AUTH_MAX];
	const char *sig;

	r->amz_date = DATE;
	r->region = "us-east-1";
	r->service = "s3";
	r->access_key = AK;
	r->secret_key = SK;
	if (s3_sign(r, auth, sizeof(auth)) < 0) {
		printf("FAIL %s: %s\n", what, err_msg());
		failures++;
		return;
	}
	sig = strstr(auth, "Signature=");
	expect_str(what, sig ? sig + 10 : auth, want);
}

/* GET /test.txt with Range: the first example of the AWS page. */
static void test_get_object(void)
{
	struct s3_hdr h[] = {
		{ "x-amz-date", DATE }, { "range", "bytes=0-9" },
		{ "host", HOST }, { "x-amz-content-sha256", EMPTY },
	};
	struct s3_sigreq r = { .method = "GET", .uri = "/test.txt", .query = "",
			       .hdrs = h, .nhdrs = 4, .payload_hash = EMPTY };

	expect_sig("sigv4 GET object", &r,
		   "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* PUT /test$file.text: a key that needs encoding, a body, extra headers. */
static void test_put_object(void)
{
	char hash[S3_SHA256_HEX], *uri = s3_uri_encode("/test$file.text", 1);
	struct s3_hdr h[] = {
		{ "date", "Fri, 24 May 2013 00:00:00 GMT" }, { "host", HOST },
		{ "x-amz-date", DATE }, { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", hash },
	};
	struct s3_sigreq r = { .method = "PUT", .uri = uri, .query = "",
			       .hdrs = h, .nhdrs = 5, .payload_hash = hash };
	const char *body = "Welcome to Amazon S3.";

	s3_sha256_hex(body, strlen(body), hash);
	expect_str("sha256 of the PUT body", hash,
		   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	expect_str("uri encode of /test$file.text", uri, "/test%24file.text");
	expect_sig("sigv4 PUT object", &r,
		   "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	free(uri);
}

/* GET /?max-keys=2&prefix=J: the query must be sorted. */
static void test_list_objects(void)
{
	const char *kv[] = { "prefix", "J", "max-keys", "2" };
	char *q = s3_canonical_query(kv, 2);
	struct s3_hdr h[] = {
		{ "host", HOST }, { "x-amz-content-sha256", EMPTY }, { "x-amz-date", DATE },
	};
	struct s3_sigreq r = { .method = "GET", .uri = "/", .query = q,
			       .hdrs = h, .nhdrs = 3, .payload_hash = EMPTY };

	expect_str("canonical query sorted", q, "max-keys=2&prefix=J");
	expect_sig("sigv4 list objects", &r,
		   "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	free(q);
}

/* GET /?lifecycle: a query parameter without a value. */
static void test_lifecycle(void)
{
	const char *kv[] = { "lifecycle", NULL };
	char *q = s3_canonical_query(kv, 1);
	struct s3_hdr h[] = {
		{ "host", HOST }, { "x-amz-content-sha256", EMPTY }, { "x-amz-date", DATE },
	};
	struct s3_sigreq r = { .method = "GET", .uri = "/", .query = q,
			       .hdrs = h, .nhdrs = 3, .payload_hash = EMPTY };

	expect_str("canonical query without value", q, "lifecycle=");
	expect_sig("sigv4 GET lifecycle", &r,
		   "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	free(q);
}

static void test_encoding(void)
{
	char *a = s3_uri_encode("a b+c/d~e_f.g-h%é", 0);
	char *b = s3_uri_encode("chunks/ab/x y", 1);
	const char *kv[] = { "prefix", "a/b c", "continuation-token", "1+2/3=",
			     "list-type", "2" };
	char *q = s3_canonical_query(kv, 3);

	expect_str("uri encode, slash encoded", a,
		   "a%20b%2Bc%2Fd~e_f.g-h%25%C3%A9");
	expect_str("uri encode, slash kept", b, "chunks/ab/x%20y");
	expect_str("canonical query encodes values", q,
		   "continuation-token=1%2B2%2F3%3D&list-type=2&prefix=a%2Fb%20c");
	free(a);
	free(b);
	free(q);
}

static void test_unescape(void)
{
	const char *in = "a&amp;b&lt;c&gt;d&quot;e&apos;f&#65;&#x42;&#xe9;";
	char *s = s3_xml_unescape(in, strlen(in));

	expect_str("xml unescape", s, "a&b<c>d\"e'fAB\xc3\xa9");
	free(s);
	s = s3_xml_unescape("bad &nope; x", 12);
	expect_str("xml unescape rejects unknown entity", s ? s : "rejected", "rejected");
	free(s);
	s = s3_xml_unescape("&#0;", 4);
	expect_str("xml unescape rejects NUL", s ? s : "rejected", "rejected");
	free(s);
	s = s3_xml_unescape("a\0b", 3);
	expect_str("xml unescape rejects a raw NUL", s ? s : "rejected", "rejected");
	free(s);
}

static void test_error_field(void)
{
	const char *body = "<Error><Code>SlowDown</Code><Message>a\nb\x1b[31m</Message></Error>";
	char out[8];

	s3_xml_field(body, strlen(body), "Code", out, sizeof(out));
	expect_str("error field cut to its buffer", out, "SlowDow");
	s3_xml_field(body, strlen(body), "Message", out, sizeof(out));
	expect_str("error field without control characters", out, "a b [31");
	s3_xml_field(body, strlen(body), "RequestId", out, sizeof(out));
	expect_str("error field absent", out, "");
}

/* "ok" if text parses as a config, else the error. */
static const char *conf(const char *text)
{
	struct s3_conf c;

	if (s3_conf_parse(&c, text, strlen(text), "t.conf") < 0)
		return err_msg();
	s3_conf_free(&c);
	return "ok";
}

static void test_conf_parse(void)
{
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_SESSION_TOKEN");
	expect_str("config accepted", conf("access_key_id = a\nsecret_access_key = b\n"
					   "session_token = t/+=\nregion = eu-west-1\r\n"), "ok");
	expect_str("config: empty region", conf("access_key_id=a\nregion =\n"),
		   "t.conf:2: s3 config: region '': want [A-Za-z0-9._-]+");
	expect_str("config: control character in a header value",
		   conf("session_token=x\rInjected: 1\n"),
		   "t.conf:1: s3 config: session_token: byte 0x0d at 1: want printable ASCII, no spaces");
	expect_str("config: NUL byte", s3_conf_parse(&(struct s3_conf){ 0 }, "a\0", 2, "t.conf") < 0 ?
		   err_msg() : "accepted", "s3 config t.conf: NUL byte");
}

struct seen {
	char keys[512];
	unsigned long long total;
	long long mtime;
};

static int collect(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->keys);

	snprintf(s->keys + n, sizeof(s->keys) - n, "%s%s", n ? "," : "", key);
	s->total += size;
	s->mtime = mtime;
	return 0;
}

static void test_list_parse(void)
{
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
		"<Prefix>p/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
		"<Contents><Key>p/a&amp;b</Key><LastModified>2013-05-24T00:00:01.000Z"
		"</LastModified><ETag>&quot;x&quot;</ETag><Size>10</Size><Owner><ID>o"
		"</ID></Owner></Contents><Contents><Key>p/chunks/ab/c</Key><LastModified>"
		"2013-05-24T00:00:00.000Z</LastModified><Size>5</Size></Contents>"
		"<NextContinuationToken>tok&amp;1</NextContinuationToken></ListBucketResult>";
	struct seen s = { "", 0, 0 };
	struct s3_list_page page;
	char num[64];
	int rc = s3_parse_list(xml, strlen(xml), "p/", collect, &s, &page);

	if (rc != 0) {
		printf("FAIL list parse: %s\n", err_msg());
		failures++;
		return;
	}
	expect_str("list keys", s.keys, "a&b,chunks/ab/c");
	snprintf(num, sizeof(num), "%llu %lld %d", s.total, s.mtime, page.truncated);
	expect_str("list sizes, mtime, truncated", num, "15 1369353600 1");
	expect_str("list continuation token", page.next_token, "tok&1");
	free(page.next_token);
	rc = s3_parse_list("<Error/>", 8, "", collect, &s, &page);
	expect_str("list rejects non-list", rc < 0 ? "rejected" : "accepted", "rejected");
}

int main(void)
{
	test_get_object();
	test_put_object();
	test_list_objects();
	test_lifecycle();
	test_encoding();
	test_unescape();
	test_error_field();
	test_conf_parse();
	test_list_parse();
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
