/*
 * image.c - the in-memory image model's own helpers (image.h): the first
 * VMA of a kind, and freeing an image.  Writing and reading a manifest is
 * image_io.c's, the byte layout image_codec.c's, the validation
 * image_check.c's.
 */
#include <stddef.h>   /* before image.h, which uses size_t without it */
#include "cr/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint64_t cr_vma_start(const struct cr_proc *p, uint32_t kind)
{
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].kind == kind)
			return p->vmas[i].start;
	return 0;
}

static void free_thread(struct cr_thread *t)
{
	free(t->xsave);
	free(t->pending);
}

static void free_proc(struct cr_proc *p)
{
	free(p->cwd);
	free(p->root);
	free(p->mm.exe_path);
	free(p->timers);
	free(p->shared_pending);
	for (uint32_t i = 0; p->threads && i < p->nr_threads; i++)
		free_thread(&p->threads[i]);
	free(p->threads);
	for (uint32_t i = 0; p->vmas && i < p->nr_vmas; i++) {
		free(p->vmas[i].path);
		free(p->vmas[i].runs);
	}
	free(p->vmas);
	free(p->fds);
	free(p->locks);
}

static void free_file(struct cr_file *f)
{
	free(f->path);
	for (uint32_t i = 0; f->data && i < f->nr_data; i++)
		free(f->data[i].data);
	free(f->data);
	for (uint32_t i = 0; f->ents && i < f->nr_ents; i++)
		free(f->ents[i].path);
	free(f->ents);
}

void cr_image_free(struct cr_image *img)
{
	if (!img)
		return;
	for (uint32_t i = 0; img->procs && i < img->nr_procs; i++)
		free_proc(&img->procs[i]);
	free(img->procs);
	for (uint32_t i = 0; img->shmem && i < img->nr_shmem; i++)
		free(img->shmem[i].runs);
	free(img->shmem);
	for (uint32_t i = 0; img->sems && i < img->nr_sems; i++)
		free(img->sems[i].vals);
	free(img->sems);
	for (uint32_t i = 0; img->msgqs && i < img->nr_msgqs; i++) {
		for (uint32_t k = 0; img->msgqs[i].msgs && k < img->msgqs[i].nr_msgs; k++)
			free(img->msgqs[i].msgs[k].data);
		free(img->msgqs[i].msgs);
	}
	free(img->msgqs);
	for (uint32_t i = 0; img->files && i < img->nr_files; i++)
		free_file(&img->files[i]);
	free(img->files);
	free(img->box);
	memset(img, 0, sizeof(*img));
}
