# insuresign-connect: `make` builds, `make test` tests, `make demo` shows it.
# Everything here runs on a fresh Debian 12: `make deps` installs what is
# missing (as root) or prints the apt-get line to run.

PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
LIBEXEC   ?= $(PREFIX)/lib/insuresign-connect
MANDIR    ?= $(PREFIX)/share/man
SHAREDIR  ?= $(PREFIX)/share/insuresign-connect
SYSCONF   ?= /etc/insuresign-connect
PORT      ?= 8080

CC        ?= cc
PKGS      := fcgi libcurl libcjson libcrypto hiredis
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
# libcurl is not linked: src/http.c loads it on first use (see there why).
LDLIBS    += $(shell pkg-config --libs fcgi libcjson libcrypto hiredis \
		2>/dev/null) \
	     -liniparser -ldl

PROG      := cgi-bin/insuresign-connect.fcgi
SRCS      := $(wildcard src/*.c)
OBJS      := $(SRCS:src/%.c=build/%.o)
LIBOBJS   := $(filter-out build/main.o,$(OBJS))

# Debian packages: to build, to run the demo, and for the tests.
DEB_BUILD := gcc make pkg-config libfcgi-dev libcurl4-openssl-dev \
	     libcjson-dev libiniparser-dev libssl-dev libhiredis-dev
DEB_DEMO  := lighttpd openssl python3 ca-certificates
DEB_TEST  := apache2 libapache2-mod-fcgid curl mandoc valgrind clang \
	     libclang-rt-14-dev chromium chromium-driver wrk clang-format gcovr \
	     python3-cryptography libapache2-mod-auth-openidc prometheus \
	     php-cli nodejs redis-server

.PHONY: all unit asan cov coverage deps deps-demo test demo install uninstall \
	clean bench fuzz fuzz-build fuzz-replay fuzz-seeds loadtest format \
	format-check

all: $(PROG)

$(PROG): $(OBJS)
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

build/%.o: src/%.c | build
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

build:
	@mkdir -p build

-include $(OBJS:.o=.d)

# Unit tests: one program per tests/unit/test_*.c, linked with every module
# but http.c, whose place tests/unit/http_stub.c takes (no network; the
# fuzzers link the same stub).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)
UNIT_HDRS := tests/unit/unit.h tests/unit/testkeys.h tests/unit/http_stub.h \
	     tests/unit/redis_server.h
UNIT_LIB  := $(filter-out build/http.o,$(LIBOBJS)) build/tests/http_stub.o

unit: $(UNIT_BINS)

build/tests/http_stub.o: tests/unit/http_stub.c $(UNIT_HDRS)
	@mkdir -p build/tests
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build/tests/%: tests/unit/%.c $(UNIT_HDRS) $(UNIT_LIB)
	@mkdir -p build/tests
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) \
		-o $@ $< $(UNIT_LIB) $(LDLIBS)

# The same program and unit tests under AddressSanitizer and UBSan, for
# make test (tests/run asan): build/asan/.
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	     -fno-omit-frame-pointer
ASAN_OBJS := $(SRCS:src/%.c=build/asan/%.o)
ASAN_LIB  := $(filter-out build/asan/main.o build/asan/http.o,$(ASAN_OBJS)) \
	     build/asan/tests/http_stub.o

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

build/asan/tests/http_stub.o: tests/unit/http_stub.c $(UNIT_HDRS)
	@mkdir -p build/asan/tests
	@echo "  CC      $< (asan)"
	@$(CC) $(CPPFLAGS) $(filter-out -O2,$(CFLAGS)) -O1 $(SAN) -c -o $@ $<

build/asan/tests/%: tests/unit/%.c $(UNIT_HDRS) $(ASAN_LIB)
	@mkdir -p build/asan/tests
	@echo "  CC      $< (asan)"
	@$(CC) $(CPPFLAGS) $(filter-out -O2,$(CFLAGS)) -O1 $(SAN) \
		-Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(ASAN_LIB) $(LDLIBS)

-include $(ASAN_OBJS:.o=.d)

# The program and the unit tests with gcov counters, for make test (the
# unit and integration suites run on this build, tests/run) and make
# coverage: build/cov/, at -O0 so that lines and branches are the
# source's.  The program runs as several users, started by web servers
# that clear its environment, maybe from a checkout they cannot write:
# tests/gcov_hooks.c, linked only here, sends each process's
# counts to build/cov-gcda/uid-N/ beside the program it runs as (a
# staged copy has its own), and writes them on _exit too (prefork workers
# and forked unit tests leave that way); tests/coverage.py merges them.
COV_DIR   := build/cov
COV_FLAGS := -O0 -g $(WARNINGS) \
	     $(filter-out -D_FORTIFY_SOURCE=2,$(HARDENING)) --coverage
COV_OBJS  := $(SRCS:src/%.c=$(COV_DIR)/%.o)
COV_LIB   := $(filter-out $(COV_DIR)/main.o $(COV_DIR)/http.o,$(COV_OBJS)) \
	     $(COV_DIR)/tests/http_stub.o $(COV_DIR)/tests/gcov_hooks.o
COV_LINK  := --coverage -Wl,--wrap=_exit
# GCOV_PREFIX_STRIP: the components of build/cov's absolute path.
COV_STRIP := $(words $(subst /, ,$(abspath $(COV_DIR))))

cov: $(COV_DIR)/insuresign-connect.fcgi \
	$(UNIT_SRCS:tests/unit/%.c=$(COV_DIR)/tests/%)

coverage:
	@python3 tests/coverage.py

$(COV_DIR)/insuresign-connect.fcgi: $(COV_OBJS) $(COV_DIR)/gcov_hooks.o
	@echo "  LD      $@"
	@$(CC) $(COV_LINK) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(COV_DIR)/%.o: src/%.c
	@mkdir -p $(COV_DIR)
	@echo "  CC      $< (coverage)"
	@$(CC) $(CPPFLAGS) $(COV_FLAGS) -MMD -MP -c -o $@ $<

# The hooks themselves are not counted; the program's copy sets the
# prefix beside itself, the unit tests' only for a child that became
# another user (as root they write to build/cov/).
$(COV_DIR)/gcov_hooks.o: tests/gcov_hooks.c
	@mkdir -p $(COV_DIR)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -DCOV_STRIP=$(COV_STRIP) -c -o $@ $<

$(COV_DIR)/tests/gcov_hooks.o: tests/gcov_hooks.c
	@mkdir -p $(COV_DIR)/tests
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -DCOV_STRIP=$(COV_STRIP) \
	    -DCOV_UNIT_DIR='"$(abspath $(COV_DIR))"' -c -o $@ $<

$(COV_DIR)/tests/http_stub.o: tests/unit/http_stub.c $(UNIT_HDRS)
	@mkdir -p $(COV_DIR)/tests
	@echo "  CC      $< (coverage)"
	@$(CC) $(CPPFLAGS) $(COV_FLAGS) -c -o $@ $<

$(COV_DIR)/tests/%: tests/unit/%.c $(UNIT_HDRS) $(COV_LIB)
	@mkdir -p $(COV_DIR)/tests
	@echo "  CC      $< (coverage)"
	@$(CC) $(CPPFLAGS) $(COV_FLAGS) -Wno-missing-prototypes $(COV_LINK) \
		$(LDFLAGS) -o $@ $< $(COV_LIB) $(LDLIBS)

-include $(COV_OBJS:.o=.d)

# Fuzzing: one libFuzzer harness per parser in tests/fuzz/, linked with
# the real modules built by clang with ASan and UBSan into build/fuzz/ (never
# mixed with the gcc objects in build/).  The network is a stub.
#   make fuzz FUZZ_SECONDS=N   each harness N seconds on a copy of its
#                              corpus; what adds coverage is merged back
#   make fuzz-replay           each committed corpus once (tests/run fuzz)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer $(WARNINGS) \
		-Wno-format-nonliteral $(FUZZ_SAN)
FUZZ_OBJS    := $(filter-out $(FUZZ_DIR)/main.o $(FUZZ_DIR)/http.o, \
		$(SRCS:src/%.c=$(FUZZ_DIR)/%.o))
FUZZ_LIB     := $(FUZZ_DIR)/libinsuresign.a
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_HDRS    := tests/fuzz/fuzz.h tests/unit/http_stub.h tests/unit/testkeys.h
# Options per harness: inputs a little past the request limits; the
# callback's log lines (stderr) are dropped, sanitizer reports are not.
FUZZ_OPTS    := -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2
FUZZ_OPTS_query    := -max_len=4200
FUZZ_OPTS_cookie   := -max_len=8400
FUZZ_OPTS_callback := -max_len=20000

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/%.o: src/%.c
	@mkdir -p $(FUZZ_DIR)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $(FUZZ_OBJS)

$(FUZZ_DIR)/http_stub.o: tests/unit/http_stub.c $(FUZZ_HDRS)
	@mkdir -p $(FUZZ_DIR)
	@echo "  CC      $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) \
		$(FUZZ_DIR)/http_stub.o $(FUZZ_LIB)
	@echo "  CC      $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_DIR)/http_stub.o $(FUZZ_LIB) $(LDLIBS)

-include $(FUZZ_OBJS:.o=.d)

# The seeds that need our keys (sealed records and cookies): regenerated
# from scratch, or re-sealed from a test rig's store with STORES="dir..".
$(FUZZ_DIR)/mkseeds: tests/fuzz/mkseeds.c $(FUZZ_HDRS) $(FUZZ_LIB)
	@echo "  CC      $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-o $@ $< $(FUZZ_LIB) $(LDLIBS)

fuzz-seeds: $(FUZZ_DIR)/mkseeds
	@$(FUZZ_DIR)/mkseeds tests/fuzz/corpus $(STORES)

# Each harness on a copy of its corpus, then -merge=1 back into the
# committed one: only inputs that reach new edges are kept (hit counts
# do not count there, -use_counters=0, so the corpora stay small).
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@rm -rf $(FUZZ_DIR)/run/$* && mkdir -p $(FUZZ_DIR)/run/$*/corpus
	@cp tests/fuzz/corpus/$*/* $(FUZZ_DIR)/run/$*/corpus/
	@echo "  FUZZ    $* ($(FUZZ_SECONDS) s, log in $(FUZZ_DIR)/run/$*/log)"
	@$(FUZZ_DIR)/fuzz_$* $(FUZZ_OPTS) $(FUZZ_OPTS_$*) \
		$(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
		-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/run/$*/ $(FUZZ_DIR)/run/$*/corpus \
		>$(FUZZ_DIR)/run/$*/log 2>&1 || { \
		tail -n 40 $(FUZZ_DIR)/run/$*/log; \
		echo "  FAIL    $*: the input is in $(FUZZ_DIR)/run/$*/"; exit 1; }
	@grep -E '^#[0-9]+[[:space:]]+DONE' $(FUZZ_DIR)/run/$*/log | \
		sed 's/^/          /'
	@$(FUZZ_DIR)/fuzz_$* $(FUZZ_OPTS) $(FUZZ_OPTS_$*) -merge=1 \
		-use_counters=0 tests/fuzz/corpus/$* $(FUZZ_DIR)/run/$*/corpus \
		>>$(FUZZ_DIR)/run/$*/log 2>&1 || { \
		tail -n 20 $(FUZZ_DIR)/run/$*/log; exit 1; }
	@echo "          corpus: $$(ls tests/fuzz/corpus/$* | wc -l) files"

# Each committed corpus once; any sanitizer report fails.
fuzz-replay: $(FUZZ_TARGETS:%=fuzz-replay-%)

fuzz-replay-%: $(FUZZ_DIR)/fuzz_%
	@echo "  REPLAY  $*"
	@$(FUZZ_DIR)/fuzz_$* $(FUZZ_OPTS) -runs=0 -artifact_prefix=$(FUZZ_DIR)/ \
		tests/fuzz/corpus/$* \
		>$(FUZZ_DIR)/replay-$*.log 2>&1 || { \
		grep -E -A 12 'ERROR|runtime error|FUZZ_CHECK|Leak' \
			$(FUZZ_DIR)/replay-$*.log | head -n 40; exit 1; }

# make bench: the performance figures, each beside its reference measured
# in the same run (tests/bench/bench.py; JSON in tests/out/bench/).  The C
# helpers go to build/bench/, and so do the big generated stores, kept
# between runs (make clean removes them).
BENCH_DIR  := build/bench
BENCH_BINS := $(BENCH_DIR)/hello.fcgi $(BENCH_DIR)/floor \
	      $(BENCH_DIR)/coldstart $(BENCH_DIR)/storebench

bench: $(PROG) $(BENCH_BINS)
	@python3 tests/bench/bench.py

$(BENCH_DIR)/hello.fcgi: tests/bench/hello.c
	@mkdir -p $(BENCH_DIR)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BENCH_DIR)/floor $(BENCH_DIR)/coldstart: $(BENCH_DIR)/%: tests/bench/%.c
	@mkdir -p $(BENCH_DIR)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(BENCH_DIR)/storebench: tests/bench/storebench.c $(LIBOBJS)
	@mkdir -p $(BENCH_DIR)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

# Installs what is missing, or says how.
deps:
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_DEMO) $(DEB_TEST)

deps-demo:
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_DEMO)

test: deps
	@$(MAKE) --no-print-directory all cov
	@python3 tests/run

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@python3 tests/rig.py demo $(PORT) --owner=$(OWNER)

# The web server, systemd and cron files to copy from.
CONF_FILES := $(filter-out conf/insuresign-connect.ini%,$(wildcard conf/*))

# The user the web server runs the program as (Debian's Apache and
# lighttpd: www-data).  It owns the state, the store and (README) the
# secret and key files; it may read the config, not change it; nobody
# else may read any of them.  RUN_USER= (empty) sets no owners, for a
# package built without root.
RUN_USER  ?= www-data
RUN_GROUP ?= $(RUN_USER)
STATEDIR  ?= /var/lib/insuresign-connect
OWN_ROOT  := $(if $(RUN_USER),-o root -g $(RUN_GROUP))
OWN_RUN   := $(if $(RUN_USER),-o $(RUN_USER) -g $(RUN_GROUP))

install: $(PROG)
	install -d $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SHAREDIR)
	install -m 0755 $(PROG) $(DESTDIR)$(LIBEXEC)/insuresign-connect.fcgi
	@# Relative, so that it works under DESTDIR too.
	ln -sf $$(realpath -m --relative-to=$(SBINDIR) \
		$(LIBEXEC)/insuresign-connect.fcgi) \
		$(DESTDIR)$(SBINDIR)/insuresign-connect
	install -m 0644 man/insuresign-connect.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/insuresign-connect.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(CONF_FILES) $(DESTDIR)$(SHAREDIR)/
	@# An operator's config, state and store are never touched again.
	test -d $(DESTDIR)$(SYSCONF) || \
		install -d -m 0750 $(OWN_ROOT) $(DESTDIR)$(SYSCONF)
	test -e $(DESTDIR)$(SYSCONF)/insuresign-connect.ini || \
		install -m 0640 $(OWN_ROOT) conf/insuresign-connect.ini \
			$(DESTDIR)$(SYSCONF)/insuresign-connect.ini
	install -m 0644 conf/insuresign-connect.ini.example \
		$(DESTDIR)$(SYSCONF)/insuresign-connect.ini.example
	test -d $(DESTDIR)$(STATEDIR) || \
		install -d -m 0700 $(OWN_RUN) $(DESTDIR)$(STATEDIR)
	test -d $(DESTDIR)$(STATEDIR)/tokens || \
		install -d -m 0700 $(OWN_RUN) $(DESTDIR)$(STATEDIR)/tokens

# Leaves the config, the keys, the state and the store: they are the
# operator's (rm -r them by hand).
uninstall:
	rm -f $(DESTDIR)$(LIBEXEC)/insuresign-connect.fcgi \
		$(DESTDIR)$(SBINDIR)/insuresign-connect \
		$(DESTDIR)$(MANDIR)/man8/insuresign-connect.8 \
		$(DESTDIR)$(MANDIR)/man5/insuresign-connect.ini.5 \
		$(DESTDIR)$(SYSCONF)/insuresign-connect.ini.example
	rm -f $(CONF_FILES:conf/%=$(DESTDIR)$(SHAREDIR)/%)
	-rmdir $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SHAREDIR)

# Not in make test: a minute and more of wrk, best on an idle machine.
loadtest: all
	@python3 tests/loadtest.py

C_SOURCES := src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c \
	     tests/fuzz/*.h tests/bench/*.c tests/gcov_hooks.c

format:
	clang-format -i $(C_SOURCES)

format-check:
	clang-format --dry-run --Werror $(C_SOURCES)

clean:
	rm -rf build $(PROG) tests/out
