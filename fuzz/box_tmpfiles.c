/*
 * box_tmpfiles.c - libFuzzer target for the line parser of a box's
 * tmpfiles.d snippets (src/box/tmpfiles.c), which are the box's own files
 * read when its /run is made.  Crashes, leaks and undefined behaviour are
 * what it looks for; what the parser accepts is checked here too: a path
 * under /run with no empty, "." or ".." component, and a mode of 12 bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "box/box_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *save = NULL;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct tmpfiles_dir d;

		if (tmpfiles_line(l, &d) != 1)
			continue;
		if (d.mode > 07777 || !d.rel[0] || d.rel[0] == '/' || strstr(d.rel, "//") ||
		    !strcmp(d.rel, "..") || !strncmp(d.rel, "../", 3) || strstr(d.rel, "/../") ||
		    (strlen(d.rel) >= 3 && !strcmp(d.rel + strlen(d.rel) - 3, "/..")))
			abort();
	}
	free(text);
	return 0;
}
