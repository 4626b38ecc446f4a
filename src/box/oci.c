/*
 * oci.c - a box's root filesystem from an OCI image, "oci:PATH[:TAG]":
 * PATH is an OCI image layout directory or an oci-archive (a tar of one).
 * The image is unpacked once per manifest digest by umoci (Debian's; it
 * checks every blob's digest and applies whiteouts without leaving the
 * destination) into BOXES/.oci/HEX/rootfs, a read-only lower layer that
 * every box of that image shares.  The image config's Env, Entrypoint,
 * Cmd, WorkingDir and User are the app's defaults (read with jansson).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define REF_NAME "org.opencontainers.image.ref.name"

/* The last non-empty line of buf, trimmed, into buf itself. */
static void last_line(char *buf)
{
	char *end = buf + strlen(buf), *start;

	while (end > buf && strchr(" \t\n\r", end[-1]))
		*--end = '\0';
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	while (*start == ' ' || *start == '\t')
		start++;
	memmove(buf, start, strlen(start) + 1);
}

/* Run argv (no shell); the last line of its stderr becomes the error. */
static int run(char *const argv[], const char *what)
{
	char msg[4096] = "", chunk[1024];
	size_t len = 0;
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys("pipe");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_sys("fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		if (len + (size_t)n >= sizeof(msg))   /* keep the tail */
			len = 0;
		memcpy(msg + len, chunk, (size_t)n);
		len += (size_t)n;
		msg[len] = '\0';
	}
	close(pfd[0]);
	last_line(msg);
	if (waitpid(pid, &st, 0) < 0)
		return err_sys("wait for %s", argv[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return err_set("%s: %s failed%s%s", what, argv[0], msg[0] ? ": " : "", msg);
	return 0;
}

static int hex_digest(const char *digest, char hex[65])
{
	if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
	    strspn(digest + 7, "0123456789abcdef") != 64)
		return err_set("bad digest '%.80s'", digest ? digest : "");
	memcpy(hex, digest + 7, 65);
	return 0;
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The manifest digest of tag (NULL: the only one) in the layout's index. */
static int find_manifest(const char *layout, const char *tag, char hex[65])
{
	char path[BOX_PATH_MAX + 32];
	json_t *idx, *mans;
	int found = -1, n;

	snprintf(path, sizeof(path), "%s/index.json", layout);
	idx = json_load_file(path, 0, NULL);
	if (!idx)
		return err_set("%s: not an OCI image layout (no readable index.json)", layout);
	mans = json_object_get(idx, "manifests");
	if (!json_is_array(mans)) {
		json_decref(idx);
		return err_set("%s: index.json has no manifests", path);
	}
	n = (int)json_array_size(mans);
	for (int i = 0; i < n && found < 0; i++) {
		json_t *m = json_array_get(mans, (size_t)i);
		const char *ref = str_of(json_object_get(m, "annotations"), REF_NAME);

		if ((tag && ref && !strcmp(ref, tag)) || (!tag && n == 1))
			found = hex_digest(str_of(m, "digest"), hex) < 0 ? -2 : i;
	}
	json_decref(idx);
	if (found == -2)
		return err_wrap("%s", path);
	if (found < 0)
		return tag ? err_set("%s: no image tagged '%s'", layout, tag)
			   : err_set("%s: %d images, name one with :TAG", layout, n);
	return 0;
}

static json_t *blob(const char *layout, const char *hex)
{
	char path[BOX_PATH_MAX + 96];

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex);
	return json_load_file(path, 0, NULL);
}

static char **str_array(json_t *o, const char *key, int *n)
{
	json_t *a = o ? json_object_get(o, key) : NULL;
	char **v;
	int len;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) > 256)
		return NULL;
	len = (int)json_array_size(a);
	v = calloc((size_t)len + 1, sizeof(*v));
	for (int i = 0; v && i < len; i++) {
		json_t *e = json_array_get(a, (size_t)i);

		if (json_is_string(e))
			v[(*n)++] = strdup(json_string_value(e));
	}
	return v;
}

/* dst = src (truncated), or "" for NULL. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* Env, Entrypoint + Cmd, WorkingDir and User of the image's config. */
static int read_defaults(const char *layout, const char *hex, struct box_oci_defaults *d)
{
	char cfg_hex[65];
	json_t *man = blob(layout, hex), *cfg = NULL, *conf;
	char **ep, **cmd;
	int nep, ncmd, rc = -1;

	if (!man || hex_digest(str_of(json_object_get(man, "config"), "digest"), cfg_hex) < 0 ||
	    !(cfg = blob(layout, cfg_hex))) {
		err_set("%s: manifest %.12s: no readable config", layout, hex);
		goto out;
	}
	conf = json_object_get(cfg, "config");
	d->env = str_array(conf, "Env", &d->nr_env);
	ep = str_array(conf, "Entrypoint", &nep);
	cmd = str_array(conf, "Cmd", &ncmd);
	d->argv = calloc((size_t)(nep + ncmd) + 1, sizeof(*d->argv));
	for (int i = 0; d->argv && i < nep; i++)
		d->argv[d->argc++] = ep[i];
	for (int i = 0; d->argv && i < ncmd; i++)
		d->argv[d->argc++] = cmd[i];
	free(ep);
	free(cmd);
	copy_str(d->workdir, sizeof(d->workdir), str_of(conf, "WorkingDir"));
	copy_str(d->user, sizeof(d->user), str_of(conf, "User"));
	rc = d->argv ? 0 : err_set("out of memory");
out:
	json_decref(cfg);
	json_decref(man);
	return rc;
}

/* An oci-archive is unpacked into a layout dir first (GNU tar refuses
 * absolute names and ".."); then it is checked like any layout. */
static int open_archive(const char *archive, const char *tmp)
{
	char *argv[] = { "tar", "-xf", (char *)archive, "-C", (char *)tmp, "--no-same-owner",
			 "--no-same-permissions", NULL };

	if (mkdir(tmp, 0700) < 0)
		return err_sys("mkdir %s", tmp);
	return run(argv, "unpack the oci-archive");
}

static int unpack_once(const char *layout, const char *tag, const char *oci, const char *hex,
		       char *lower, size_t len)
{
	char dest[BOX_PATH_MAX + 96], tmp[BOX_PATH_MAX + 96], ref[BOX_PATH_MAX + 64];
	char *argv[] = { "umoci", "raw", "unpack", "--image", ref, tmp, NULL };

	snprintf(dest, sizeof(dest), "%s/%s", oci, hex);
	if ((size_t)snprintf(lower, len, "%s/rootfs", dest) >= len)
		return err_set("path too long");
	if (access(lower, F_OK) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%d", oci, hex, (int)getpid());
	snprintf(ref, sizeof(ref), "%s%s%s", layout, tag ? ":" : "", tag ? tag : "");
	if (mkdir(dest, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", dest);
	if (run(argv, "unpack the OCI image") < 0) {
		char *rm[] = { "rm", "-rf", tmp, NULL };

		struct err_saved e;
		err_save(&e);
		run(rm, "clean up");
		return err_restore(&e);
	}
	if (rename(tmp, lower) < 0) {
		char *rm[] = { "rm", "-rf", tmp, NULL };
		int e = errno;

		run(rm, "clean up");
		if (e != EEXIST && e != ENOTEMPTY)
			return errno = e, err_sys("rename into %s", lower);
	}
	return 0;
}

int box_oci_prepare(const char *spec, const char *boxes, char *lower, size_t len,
		    struct box_oci_defaults *d)
{
	char path[BOX_PATH_MAX], oci[BOX_PATH_MAX + 8], tmp[BOX_PATH_MAX + 64], hex[65];
	const char *layout = path, *tag = NULL;
	char *colon;
	struct stat st;
	int lock, rc;

	memset(d, 0, sizeof(*d));
	if (strncmp(spec, "oci:", 4) || strlen(spec + 4) >= sizeof(path) || !spec[4])
		return err_set("rootfs '%s': oci:PATH[:TAG]", spec);
	strcpy(path, spec + 4);
	colon = strrchr(path, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		tag = colon + 1;
		if (!*tag || strpbrk(tag, " \t\n,\\"))
			return err_set("rootfs '%s': bad tag", spec);
	}
	if (path[0] != '/' || stat(path, &st) < 0)
		return path[0] != '/' ? err_set("rootfs '%s': PATH must be absolute", spec)
				      : err_sys("rootfs %s", path);
	snprintf(oci, sizeof(oci), "%s/.oci", boxes);
	if (mkdir(boxes, 0700) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", boxes);
	if (mkdir(oci, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", oci);
	lock = open(oci, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		if (lock >= 0)
			close(lock);
		return err_sys("lock %s", oci);
	}
	tmp[0] = '\0';
	rc = 0;
	if (S_ISREG(st.st_mode)) {
		snprintf(tmp, sizeof(tmp), "%s/.archive-%d", oci, (int)getpid());
		rc = open_archive(path, tmp);
		layout = tmp;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = err_set("rootfs %s: neither an OCI layout dir nor an oci-archive", path);
	}
	if (rc == 0)
		rc = find_manifest(layout, tag, hex);
	if (rc == 0)
		rc = unpack_once(layout, tag, oci, hex, lower, len);
	if (rc == 0)
		rc = read_defaults(layout, hex, d);
	if (tmp[0]) {
		char *rm[] = { "rm", "-rf", tmp, NULL };
		struct err_saved e;

		err_save(&e);
		run(rm, "clean up");
		err_restore(&e);
	}
	close(lock);
	return rc < 0 ? err_wrap("rootfs %s", spec) : 0;
}
