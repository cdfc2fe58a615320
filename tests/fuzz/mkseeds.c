/*
 * The seeds that must be sealed with the harnesses' fixed keys (fuzz.h):
 * stored records for fuzz_record, Cookie headers with a pending cookie for
 * fuzz_cookie.  `make fuzz-seeds` writes them into tests/fuzz/corpus/;
 * with STORES="tests/out/ConnectFlow ..." it also re-seals the records a
 * test rig's program wrote (with that rig's store.key) under the fixed
 * key, so the corpus holds what the program really stores.
 *
 *     mkseeds CORPUS_DIR [RIG_DIR ...]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "pending.h"
#include "record.h"
#include "codec.h"

static const char *corpus;
static struct keyring kr;

/* Writes a seed; mode, unless negative, is a first byte before data. */
static void
put(const char *target, const char *name, const void *data, size_t n, int mode)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", corpus, target, name);
	f = fopen(path, "w");
	if (f == NULL || (mode >= 0 && fputc(mode, f) == EOF) ||
	    fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* fuzz_record's mode 0: a byte, then the sealed file. */
static void
put_record(const char *name, struct record *r, int old)
{
	struct keyring one = kr;
	struct buf out;

	/* record_seal seals under keys[0]: make the old key current. */
	if (old) {
		one.keys[0] = kr.keys[1];
		one.n = 1;
	}
	buf_init(&out, RECORD_MAX);
	if (record_seal(&one, FUZZ_NAME, r, &out) == -1) {
		fprintf(stderr, "record_seal failed\n");
		exit(1);
	}
	put("record", name, out.data, out.len, 0);
	buf_free(&out);
}

static void
make_record(struct record *r, int status, const char *at, const char *rt,
	    const char *scope, int last_error)
{
	memset(r, 0, sizeof(*r));
	owner_browser(FUZZ_SID, &r->owner);
	record_set(&r->access_token, at);
	record_set(&r->refresh_token, rt);
	record_set(&r->token_type, at != NULL ? "Bearer" : NULL);
	record_set(&r->scope, scope);
	r->meta.status = status;
	r->meta.last_error = last_error;
	r->meta.created = FUZZ_NOW - 86400;
	r->meta.updated = FUZZ_NOW - 60;
	r->meta.expires_at = FUZZ_NOW + 3540;
	r->meta.last_refresh = last_error != 0 ? FUZZ_NOW - 60 : 0;
	r->meta.last_used = FUZZ_NOW - 120;
	r->meta.backoff_until = last_error != 0 ? FUZZ_NOW - 30 : 0;
}

static void
records(void)
{
	struct record r;

	make_record(&r, RECORD_CONNECTED, "at_Jq0dVb2bX6yYk3Lm9sTqW1pZc4RtUv7e",
		    "rt_N5hGk2LpQ8wErT6yUi0oPa3sDf9gHj1k", NULL, 0);
	put_record("connected", &r, 0);
	put_record("connected-old-key", &r, 1);
	record_free(&r);
	make_record(&r, RECORD_CONNECTED,
		    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ."
		    "c2lnbmF0dXJl",
		    NULL, "documents templates", 0);
	put_record("connected-no-refresh-scope", &r, 0);
	record_free(&r);
	make_record(&r, RECORD_CONNECTED, "at_Zx8cVb6nM2aSd4fGh0jKl7qWe3rTy5uI",
		    "rt_N5hGk2LpQ8wErT6yUi0oPa3sDf9gHj1k", NULL,
		    REFRESH_RATE_LIMITED);
	put_record("refresh-failing", &r, 0);
	record_free(&r);
	make_record(&r, RECORD_NEEDS_RECONNECT, NULL, NULL, NULL,
		    REFRESH_INVALID_GRANT);
	put_record("needs-reconnect", &r, 0);
	record_free(&r);
}

/* Records a rig's program wrote, opened with its key, re-sealed. */
static void
rig(const char *dir)
{
	static char key_file[1024];
	char path[2048], name[300], err[512];
	struct keyring rk;
	struct config cfg;
	struct dirent *e, *f;
	DIR *d, *s;
	int count = 0;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(key_file, sizeof(key_file), "%s/store.key", dir);
	cfg.key_file = key_file;
	if (keyring_load(&rk, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/store", dir);
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL && count < 4) {
		if (strlen(e->d_name) != 2)
			continue;
		snprintf(path, sizeof(path), "%s/store/%s", dir, e->d_name);
		s = opendir(path);
		while (s != NULL && (f = readdir(s)) != NULL && count < 4) {
			struct record r;
			struct buf raw;
			FILE *in;
			char chunk[4096];
			size_t n;

			if (strlen(f->d_name) != RECORD_NAME_LEN)
				continue;
			snprintf(path, sizeof(path), "%s/store/%s/%s", dir,
				 e->d_name, f->d_name);
			in = fopen(path, "r");
			if (in == NULL)
				continue;
			buf_init(&raw, RECORD_MAX);
			while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
				buf_add(&raw, chunk, n);
			fclose(in);
			if (record_open(&rk, f->d_name,
					(unsigned char *)raw.data, raw.len,
					&r) == 0) {
				snprintf(name, sizeof(name), "rig-%.12s",
					 f->d_name);
				put_record(name, &r, 0);
				record_free(&r);
				count++;
			}
			buf_free(&raw);
		}
		if (s != NULL)
			closedir(s);
	}
	if (d != NULL)
		closedir(d);
	keyring_wipe(&rk);
	printf("%s: %d records re-sealed\n", dir, count);
}

/* A pending set of n entries, as /connect/start makes them. */
static void
make_set(struct pending_set *set, size_t n, long long now)
{
	static const char *const rt[] = { "/account", "/settings/x?tab=2",
					  "/account?from=banner" };
	size_t i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < n; i++) {
		memset(set->v[i].state, (int)(0x11 * (i + 1)), 32);
		memset(set->v[i].verifier, (int)(0x22 * (i + 1)), 32);
		set->v[i].created = now - (long long)i * 30;
		snprintf(set->v[i].return_to, sizeof(set->v[i].return_to), "%s",
			 rt[i % 3]);
	}
	set->n = n;
}

static void
sealed_cookie(const struct key *k, const char *sid, size_t n, struct buf *out)
{
	struct pending_set set;

	make_set(&set, n, FUZZ_NOW);
	if (pending_seal(k, sid, &set, out) == -1) {
		fprintf(stderr, "pending_seal failed\n");
		exit(1);
	}
}

static void
cookie_seed(const char *name, const char *fmt, const char *sid,
	    const struct key *k, size_t n)
{
	struct buf v, line;

	buf_init(&v, 8192);
	buf_init(&line, 16384);
	sealed_cookie(k, sid, n, &v);
	buf_printf(&line, fmt, sid, v.data);
	put("cookie", name, line.data, line.len, -1);
	buf_free(&line);
	buf_free(&v);
}

/* The decrypted cookie, for fuzz_cookie's second reading of its input. */
static void
cookie_plaintext(const char *name, size_t n)
{
	static const char ad[] = "insuresign-connect pending v1\0" FUZZ_SID;
	unsigned char sealed[4096], plain[4096];
	struct buf v;
	size_t len;

	buf_init(&v, 8192);
	sealed_cookie(&kr.keys[0], FUZZ_SID, n, &v);
	if (b64url_decode(v.data, v.len, sealed, sizeof(sealed), &len) == -1 ||
	    crypto_open(kr.keys[0].cookie, ad, sizeof(ad) - 1,
			sealed + KEY_ID_LEN, len - KEY_ID_LEN, plain) == -1) {
		fprintf(stderr, "cannot open our own cookie\n");
		exit(1);
	}
	put("cookie", name, plain,
	    len - KEY_ID_LEN - AEAD_IV_LEN - AEAD_TAG_LEN, -1);
	buf_free(&v);
}

static void
cookies(void)
{
	const char *app = "0123456789abcdefghijklmnopqrstuv";

	cookie_seed("session-and-pending",
		    "insuresign_session=%s; insuresign_pending=%s", FUZZ_SID,
		    &kr.keys[0], 1);
	cookie_seed("pending-three-tabs",
		    "insuresign_pending=%2$s; insuresign_session=%1$s",
		    FUZZ_SID, &kr.keys[0], 3);
	cookie_seed("pending-full-old-key",
		    "insuresign_session=%s; theme=dark; insuresign_pending=%s",
		    FUZZ_SID, &kr.keys[1], PENDING_MAX);
	cookie_seed("https-names",
		    "__Host-insuresign_session=%s; "
		    "__Secure-insuresign_pending=%s",
		    FUZZ_SID, &kr.keys[0], 2);
	cookie_seed("app-session", "PHPSESSID=%s;insuresign_pending=\"%s\"",
		    app, &kr.keys[0], 1);
	cookie_seed("twice",
		    "insuresign_session=%1$s; insuresign_session=%1$s; "
		    "insuresign_pending=%2$s",
		    FUZZ_SID, &kr.keys[0], 1);
	cookie_plaintext("plaintext-one", 1);
	cookie_plaintext("plaintext-five", PENDING_MAX);
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: mkseeds CORPUS_DIR [RIG_DIR ...]\n");
		return 2;
	}
	corpus = argv[1];
	fuzz_keyring(&kr);
	records();
	cookies();
	for (i = 2; i < argc; i++)
		rig(argv[i]);
	return 0;
}
