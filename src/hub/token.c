/* token.c - make and hash bearer tokens (see token.h). */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/err.h"
#include "hub/token.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

int token_new(char *tok)
{
	unsigned char r[32];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0)
			return err_sys("getrandom");
		got += (size_t)n;
	}
	memcpy(tok, "pc_", 3);
	hex(r, sizeof(r), tok + 3);
	return 0;
}

int token_hash(const char *tok, char *hash)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (strlen(tok) != TOKEN_LEN || strncmp(tok, "pc_", 3) ||
	    strspn(tok + 3, "0123456789abcdef") != TOKEN_LEN - 3)
		return err_set("a token is pc_ and 64 hex digits");
	if (!EVP_Digest(tok, TOKEN_LEN, md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof(md))
		return err_set("sha256 failed");
	hex(md, sizeof(md), hash);
	return 0;
}

const char *token_from_header(const char *value)
{
	if (!value || strncasecmp(value, "Bearer ", 7))
		return NULL;
	value += 7;
	while (*value == ' ')
		value++;
	return value;
}
