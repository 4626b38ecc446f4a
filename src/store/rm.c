/*
 * rm.c - removing an image from a store: every committed generation's
 * manifest, oldest first, so that a reader meanwhile still finds the
 * newest generation until the very last delete and never falls back to an
 * older one.  The chunks stay until `store gc` finds them unreferenced
 * (shared chunks stay referenced by the other images).
 */
#include <stdio.h>

#include "common/err.h"
#include "store/internal.h"

int store_rm_image(struct store *s, const char *name, FILE *out, uint64_t *removed)
{
	struct image_ref *refs = NULL;
	size_t n = 0, done = 0;
	char key[256];
	int rc = 0;

	*removed = 0;
	if (image_name_check(name) < 0)
		return -1;
	if (image_list(&s->be, name, &refs, &n) < 0)
		return err_wrap("rm image '%s'", name);
	if (n == 0) {
		image_refs_free(refs, n);
		return err_set("rm image '%s': no such image", name);
	}
	for (; done < n; done++) {
		if (image_key(name, refs[done].gen, key, sizeof(key)) < 0 ||
		    s->be.ops->del(s->be.be, key) < 0) {
			rc = err_wrap("rm image '%s' generation %llu (%zu of %zu removed)", name,
				      (unsigned long long)refs[done].gen, done, n);
			break;
		}
		if (out)
			fprintf(out, "removed %s generation %llu\n", name,
				(unsigned long long)refs[done].gen);
	}
	*removed = done;
	image_refs_free(refs, n);
	return rc;
}
