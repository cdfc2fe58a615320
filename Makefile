# insuresign-connect: `make` builds, `make test` tests, `make demo` shows it.
# Everything here runs on a fresh Debian 12: `make deps` installs what is
# missing (as root) or prints the apt-get line to run.

PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
LIBEXEC   ?= $(PREFIX)/lib/insuresign-connect
MANDIR    ?= $(PREFIX)/share/man
SYSCONF   ?= /etc/insuresign-connect
PORT      ?= 8080

CC        ?= cc
PKGS      := fcgi libcurl libcjson libcrypto
OPTFLAGS  ?= -O2 -g
WARNINGS  := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	     -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	     -Wvla -Wcast-qual -Wwrite-strings -Wundef
HARDENING := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE \
	     -fstack-clash-protection
CPPFLAGS  += -D_GNU_SOURCE -Isrc -I/usr/include/iniparser \
	     $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS    += $(OPTFLAGS) $(WARNINGS) $(HARDENING)
LDFLAGS   += -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -liniparser

PROG      := cgi-bin/insuresign-connect.fcgi
SRCS      := $(wildcard src/*.c)
OBJS      := $(SRCS:src/%.c=build/%.o)
LIBOBJS   := $(filter-out build/main.o,$(OBJS))

# Debian packages: to build, to run the demo, and for the tests.
DEB_BUILD := gcc make pkg-config libfcgi-dev libcurl4-openssl-dev \
	     libcjson-dev libiniparser-dev libssl-dev
DEB_DEMO  := lighttpd openssl python3 ca-certificates
DEB_TEST  := apache2 libapache2-mod-fcgid curl mandoc valgrind clang \
	     libclang-rt-14-dev chromium chromium-driver wrk clang-format

.PHONY: all unit asan deps deps-demo test demo install uninstall clean bench fuzz \
	loadtest format format-check

all: $(PROG)

$(PROG): $(OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

build/%.o: src/%.c | build
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

build:
	@mkdir -p build

-include $(OBJS:.o=.d)

# Unit tests: one program per tests/unit/test_*.c, linked with every module.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)

unit: $(UNIT_BINS)

build/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBOBJS)
	@mkdir -p build/tests
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) \
		-o $@ $< $(LIBOBJS) $(LDLIBS)

# The same program and unit tests under AddressSanitizer and UBSan, for
# make test (tests/run asan): build/asan/.
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	     -fno-omit-frame-pointer
ASAN_OBJS := $(SRCS:src/%.c=build/asan/%.o)
ASAN_LIB  := $(filter-out build/asan/main.o,$(ASAN_OBJS))

asan: build/asan/insuresign-connect.fcgi \
	$(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%)

build/asan/insuresign-connect.fcgi: $(ASAN_OBJS)
	@echo "  LD      $@"
	@$(CC) $(SAN) $(LDFLAGS) -o $@ $(ASAN_OBJS) $(LDLIBS)

build/asan/%.o: src/%.c
	@mkdir -p build/asan
	@echo "  CC      $< (asan)"
	@$(CC) $(CPPFLAGS) $(filter-out -O2,$(CFLAGS)) -O1 $(SAN) -MMD -MP \
		-c -o $@ $<

build/asan/tests/%: tests/unit/%.c tests/unit/unit.h $(ASAN_LIB)
	@mkdir -p build/asan/tests
	@echo "  CC      $< (asan)"
	@$(CC) $(CPPFLAGS) $(filter-out -O2,$(CFLAGS)) -O1 $(SAN) \
		-Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(ASAN_LIB) $(LDLIBS)

-include $(ASAN_OBJS:.o=.d)

# Installs what is missing, or says how.
deps:
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_DEMO) $(DEB_TEST)

deps-demo:
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_DEMO)

test: deps
	@$(MAKE) --no-print-directory all
	@python3 tests/run

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@python3 tests/rig.py demo $(PORT)

install: $(PROG)
	install -d $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONF)
	install -m 0755 $(PROG) $(DESTDIR)$(LIBEXEC)/insuresign-connect.fcgi
	ln -sf $(LIBEXEC)/insuresign-connect.fcgi \
		$(DESTDIR)$(SBINDIR)/insuresign-connect
	install -m 0644 man/insuresign-connect.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/insuresign-connect.ini.5 $(DESTDIR)$(MANDIR)/man5/
	@# An operator's config is never overwritten.
	test -e $(DESTDIR)$(SYSCONF)/insuresign-connect.ini || \
		install -m 0640 conf/insuresign-connect.ini.example \
			$(DESTDIR)$(SYSCONF)/insuresign-connect.ini
	install -m 0644 conf/insuresign-connect.ini.example \
		$(DESTDIR)$(SYSCONF)/insuresign-connect.ini.example

uninstall:
	rm -f $(DESTDIR)$(LIBEXEC)/insuresign-connect.fcgi \
		$(DESTDIR)$(SBINDIR)/insuresign-connect \
		$(DESTDIR)$(MANDIR)/man8/insuresign-connect.8 \
		$(DESTDIR)$(MANDIR)/man5/insuresign-connect.ini.5 \
		$(DESTDIR)$(SYSCONF)/insuresign-connect.ini.example
	-rmdir $(DESTDIR)$(LIBEXEC)

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h

format-check:
	clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c \
		tests/unit/*.h

clean:
	rm -rf build $(PROG) tests/out
