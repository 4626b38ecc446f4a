/*
 * restore_kept.c - which VMAs a late process (restore_fork.c: forked by
 * its restored parent) keeps from that parent: those where it still had
 * pages shared with it at the dump (CR_RUN_INHERITED), and that the parent
 * has at the same place and as the same mapping, and that a fork passes on
 * (not MADV_DONTFORK or MADV_WIPEONFORK).  Its memory step (restore_mm.c)
 * keeps those and writes only its own pages there.
 */
#include <string.h>

#include "cr/restore_ctx.h"

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

const struct cr_vma *rst_parent_vma(const struct cr_proc *pp, const struct cr_vma *v)
{
	for (uint32_t i = 0; i < pp->nr_vmas; i++) {
		const struct cr_vma *pv = &pp->vmas[i];

		if (pv->start != v->start)
			continue;
		if (pv->end != v->end || pv->kind != v->kind || pv->pgoff != v->pgoff ||
		    !same_str(pv->path, v->path))
			return NULL;
		return pv;
	}
	return NULL;
}

int rst_vma_kept(const struct rst_ctx *c, const struct rst_proc *rp, const struct cr_vma *v)
{
	const struct cr_vma *pv;
	int inh = 0;

	if (!rp->late || (v->kind != CR_VMA_ANON && v->kind != CR_VMA_FILE))
		return 0;
	for (uint32_t k = 0; k < v->nr_runs && !inh; k++)
		inh = (v->runs[k].flags & CR_RUN_INHERITED) != 0;
	pv = inh ? rst_parent_vma(c->procs[rp->parent].p, v) : NULL;
	return pv && !(pv->flags & (CR_VMA_F_DONTFORK | CR_VMA_F_WIPEONFORK));
}
