#!/bin/sh
# Installs the Debian packages named on the command line that are missing,
# when run as root; otherwise prints the one apt-get line to run.
set -eu
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages. Run, as root:" >&2
	echo "  apt-get update && $line" >&2
	exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Services in packages must not start on install (no ports taken here).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.insuresign
chmod 755 /usr/sbin/policy-rc.d.insuresign
[ -e /usr/sbin/policy-rc.d ] || ln -s policy-rc.d.insuresign /usr/sbin/policy-rc.d
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -L /usr/sbin/policy-rc.d ] && [ "$(readlink /usr/sbin/policy-rc.d)" = policy-rc.d.insuresign ] &&
	rm -f /usr/sbin/policy-rc.d
rm -f /usr/sbin/policy-rc.d.insuresign
