/*
 * cr_seccomp.c - libFuzzer target for the image's seccomp filter file
 * parser (cr_seccomp_parse, src/cr/seccomp.c).
 *
 * An accepted file must hold 1.. processes with distinct positive pids,
 * each with 1..CR_SECCOMP_MAX_FILTERS filters of 1..BPF_MAXINSNS
 * instructions; a rejected one must free cleanly (the leak checker sees
 * the rest).
 */
#include <stdint.h>
#include <stdlib.h>

#include "cr/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_seccomp s;

	if (cr_seccomp_parse(data, size, &s) == 0) {
		if (!s.nr_procs)
			abort();
		for (uint32_t i = 0; i < s.nr_procs; i++) {
			const struct cr_seccomp_proc *p = &s.procs[i];

			if (p->pid < 1 || !p->nr || p->nr > CR_SECCOMP_MAX_FILTERS ||
			    cr_seccomp_of(&s, p->pid) != p)
				abort();
			for (uint32_t j = 0; j < p->nr; j++)
				if (!p->filters[j].len || p->filters[j].len > BPF_MAXINSNS ||
				    !p->filters[j].insns)
					abort();
		}
	}
	cr_seccomp_free(&s);
	return 0;
}
