/*
 * mhd_lib.h - libmicrohttpd, loaded when the daemon starts its API.
 *
 * libmicrohttpd brings GnuTLS and eight more shared libraries with it;
 * linking it into the binary made every `picocenter` start (a `cr restore`,
 * a custody holder) pay about 8 ms of dynamic linking for a library only
 * `picocenter serve` uses.
 */
#ifndef PC_API_MHD_LIB_H
#define PC_API_MHD_LIB_H

#include <microhttpd.h>

struct mhd_lib {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc, void *apc_cls,
					   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *d);
	struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode mode);
	struct MHD_Response *(*create_response_from_callback)(uint64_t size, size_t block_size,
							      MHD_ContentReaderCallback crc,
							      void *crc_cls,
							      MHD_ContentReaderFreeCallback crfc);
	enum MHD_Result (*add_response_header)(struct MHD_Response *r, const char *header,
					       const char *content);
	enum MHD_Result (*queue_response)(struct MHD_Connection *c, unsigned int status,
					  struct MHD_Response *r);
	void (*destroy_response)(struct MHD_Response *r);
	const char *(*lookup_connection_value)(struct MHD_Connection *c, enum MHD_ValueKind kind,
					       const char *key);
};

/* The loaded library, or NULL (with err_set) if it cannot be loaded. */
const struct mhd_lib *mhd_lib(void);

#endif
