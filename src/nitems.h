/* nitems(a): how many elements an array has (as OpenBSD's <sys/param.h>). */
#ifndef NITEMS_H
#define NITEMS_H

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#endif
