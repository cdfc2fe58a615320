/*
 * The ceiling for `make bench`: the least a libfcgi responder can do, a
 * fixed 60-byte JSON body, run by the same lighttpd as the program.  With
 * stdin not a socket it answers one request as plain CGI: the cold-start
 * reference beside the program's own.
 */
#include <stdio.h>

#include <fcgiapp.h>

static const char reply[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 60\r\n"
	"\r\n"
	"{\"connected\":true,\"since\":\"2026-01-01T00:00:00Z\","
	"\"x\":12345}\n";

int
main(void)
{
	FCGX_Request r;

	if (FCGX_IsCGI()) {
		fwrite(reply, 1, sizeof(reply) - 1, stdout);
		return 0;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
