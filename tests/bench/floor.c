/*
 * The memory floor for `make bench`: a program that links what every
 * worker must (libfcgi, OpenSSL's libcrypto), draws random bytes, does one
 * HMAC-SHA256 and one AES-256-GCM seal, and reports its own resident set
 * (from /proc/self/status, as the bench reads the workers').  Whatever a
 * worker holds above this is ours.
 */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Adds the kB of each line of FILE that starts with one of KEYS to SUM,
 * and prints them as "Key kB ". */
static int
scan(const char *file, const char *const *keys, size_t nkeys,
     unsigned long *sum)
{
	char line[256];
	FILE *f = fopen(file, "r");
	size_t i;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		for (i = 0; i < nkeys; i++) {
			size_t n = strlen(keys[i]);
			unsigned long kb;

			if (strncmp(line, keys[i], n) == 0 &&
			    sscanf(line + n, "%lu", &kb) == 1) {
				printf("%.*s %lu ", (int)n - 1, keys[i], kb);
				*sum += kb;
			}
		}
	fclose(f);
	return 0;
}

/* Prints "VmRSS 5200 RssAnon 800 RssFile 4400 ... Private 900" (kB):
 * Private is smaps_rollup's Private_Clean + Private_Dirty, what the bench
 * holds a worker to. */
static int
report(void)
{
	static const char *const status[] = { "VmRSS:", "RssAnon:", "RssFile:",
					      "RssShmem:" };
	static const char *const smaps[] = { "Private_Clean:",
					     "Private_Dirty:" };
	unsigned long ignored = 0, private = 0;

	if (scan("/proc/self/status", status, 4, &ignored) != 0 ||
	    scan("/proc/self/smaps_rollup", smaps, 2, &private) != 0)
		return -1;
	printf("Private %lu\n", private);
	return 0;
}

int
main(void)
{
	unsigned char key[32], iv[12], mac[32], out[64], tag[16];
	static const unsigned char msg[] = "insuresign-connect bench floor";
	unsigned int maclen = sizeof(mac);
	EVP_CIPHER_CTX *ctx;
	int len;

	/* libfcgi is linked and set up, as in a worker. */
	if (FCGX_Init() != 0)
		return 1;
	if (RAND_bytes(key, sizeof(key)) != 1 ||
	    RAND_bytes(iv, sizeof(iv)) != 1)
		return 1;
	if (HMAC(EVP_sha256(), key, sizeof(key), msg, sizeof(msg), mac,
		 &maclen) == NULL)
		return 1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, mac, sizeof(mac)) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &len, msg, sizeof(msg)) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag) !=
		    1)
		return 1;
	EVP_CIPHER_CTX_free(ctx);
	return report() == 0 ? 0 : 1;
}
