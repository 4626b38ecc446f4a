/*
 * token.h - bearer tokens: a tenant's (`picocenter tenant create`) or a
 * worker's (`picocenter hub worker-token`).  A token is "pc_" and 64 hex
 * digits from getrandom (256 bits); the registry keeps only its SHA-256,
 * so a copy of the database lets nobody in.
 */
#ifndef PC_HUB_TOKEN_H
#define PC_HUB_TOKEN_H

#define TOKEN_LEN 67           /* "pc_" + 64 hex digits */
#define TOKEN_HASH_LEN 64      /* hex SHA-256 */

/* A new token into tok (TOKEN_LEN + 1 bytes). */
int token_new(char *tok);
/* The hex SHA-256 of a token (TOKEN_HASH_LEN + 1 bytes); a string that
 * cannot be a token fails (no hash is worth looking up for it). */
int token_hash(const char *tok, char *hash);
/* The token of an "Authorization: Bearer TOKEN" header value. */
const char *token_from_header(const char *value);

#endif
