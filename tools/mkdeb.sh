#!/bin/sh
# Builds the Debian package of hopwatch with dpkg-deb alone (no debhelper): the built binary,
# the systemd unit, the config and logrotate conffiles, the manual page, copyright and
# changelog, and the maintainer scripts of packaging/debian/. Prints the path of the .deb.
#
# Usage: tools/mkdeb.sh [--version VERSION] [--binary FILE] [--out DIR]
#   --version  the package version (a Debian version; "-1" is added when it has no
#              revision). Default: from 'hopwatch version' of the binary: a release number
#              as it is, a git snapshot as CHANGELOG-VERSION~gitN.HASH (N commits), so newer
#              commits sort higher and all sort before the release they lead to.
#   --binary   the agent to package (default: build/hopwatch)
#   --out      where the .deb goes (default: build)
# Needs dpkg-dev (dpkg-shlibdeps, dpkg-parsechangelog) and binutils (strip).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=$ROOT/packaging/debian
BIN=$ROOT/build/hopwatch
OUT=$ROOT/build
VERSION=

die() {
	echo "mkdeb: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--version) [ $# -ge 2 ] || die "option '$1' needs a value"; VERSION=$2; shift 2 ;;
	--binary) [ $# -ge 2 ] || die "option '$1' needs a value"; BIN=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || die "option '$1' needs a value"; OUT=$2; shift 2 ;;
	-h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[ -x "$BIN" ] || die "no agent binary at '$BIN' (run make first)"
mkdir -p "$OUT"
BIN=$(realpath "$BIN")
OUT=$(realpath "$OUT")
for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog strip gzip; do
	command -v "$tool" >/dev/null || die "'$tool' is missing (make deps installs dpkg-dev)"
done

CL_VERSION=$(dpkg-parsechangelog -l "$PKG/changelog" -S Version)
CL_UPSTREAM=${CL_VERSION%-*}
CL_REVISION=${CL_VERSION##*-}
MAINT=$(dpkg-parsechangelog -l "$PKG/changelog" -S Maintainer)
BIN_VERSION=$("$BIN" version | sed -n 's/^hopwatch //p')
[ -n "$BIN_VERSION" ] || die "'$BIN version' printed no version"

# The binary's version (git describe) as a Debian upstream version in UPSTREAM; SNAPSHOT is
# the commit it names when it is not a release.
UPSTREAM= SNAPSHOT=
upstream_of() {
	v=${1#v}
	dirty=
	case "$v" in *-dirty) v=${v%-dirty}; dirty=.dirty ;; esac
	if echo "$v" | grep -Eq '^[0-9a-f]{7,40}$'; then
		# no tag yet: abc1234 -> CHANGELOG-VERSION~gitN.abc1234
		SNAPSHOT=$v
		n=$(git -C "$ROOT" rev-list --count "$v" 2>/dev/null || echo 0)
		UPSTREAM=$CL_UPSTREAM~git$n.$v$dirty
	elif echo "$v" | grep -Eq '^[0-9][0-9A-Za-z.+~]*-[0-9]+-g[0-9a-f]+$'; then
		# after a tag: 0.2.0-5-gabc1234 -> 0.2.0+git5.abc1234
		SNAPSHOT=${v##*-g}
		UPSTREAM=$(echo "$v" | sed -E 's/^(.*)-([0-9]+)-g([0-9a-f]+)$/\1+git\2.\3/')$dirty
	elif echo "$v" | grep -Eq '^[0-9][0-9A-Za-z.+~]*$'; then
		UPSTREAM=$v$dirty # a release: 0.1.0
	else
		return 1
	fi
}

if [ -z "$VERSION" ]; then
	upstream_of "$BIN_VERSION" ||
		die "cannot make a package version of '$BIN_VERSION' (use --version)"
	VERSION=$UPSTREAM-$CL_REVISION
fi
case "$VERSION" in *-*) ;; *) VERSION=$VERSION-1 ;; esac
dpkg --validate-version "$VERSION" 2>/dev/null || die "invalid package version '$VERSION'"
ARCH=$(dpkg --print-architecture)
DEB=$OUT/hopwatch_${VERSION#*:}_$ARCH.deb

# Reproducible: timestamps from the changelog (or SOURCE_DATE_EPOCH), no names in gzip.
if [ -n "$SNAPSHOT" ] && git -C "$ROOT" cat-file -e "$SNAPSHOT^{commit}" 2>/dev/null; then
	DATE=$(git -C "$ROOT" log -1 --format=%ct "$SNAPSHOT")
else
	DATE=$(dpkg-parsechangelog -l "$PKG/changelog" -S Timestamp)
fi
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$DATE}
export SOURCE_DATE_EPOCH

WORK=$(mktemp -d "$OUT/.mkdeb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
R=$WORK/root
DOC=$R/usr/share/doc/hopwatch

install -d -m 0755 "$R/DEBIAN" "$R/usr/sbin" "$R/lib/systemd/system" "$R/etc/hopwatch" \
	"$R/etc/logrotate.d" "$R/usr/share/man/man8" "$DOC" "$R/usr/share/lintian/overrides"
install -m 0755 "$BIN" "$R/usr/sbin/hopwatch"
# as dh_strip does; the BPF programs are data in .rodata and stay
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$R/usr/sbin/hopwatch"
install -m 0644 "$ROOT/deploy/hopwatch.service" "$R/lib/systemd/system/hopwatch.service"
# 0640: output.nats_url may carry credentials (nats://user:pass@host)
install -m 0640 "$ROOT/deploy/hopwatch.conf" "$R/etc/hopwatch/hopwatch.conf"
install -m 0644 "$PKG/hopwatch.logrotate" "$R/etc/logrotate.d/hopwatch"
gzip -9n <"$ROOT/docs/hopwatch.8" >"$R/usr/share/man/man8/hopwatch.8.gz"
install -m 0644 "$PKG/copyright" "$DOC/copyright"
install -m 0644 "$PKG/lintian-overrides" "$R/usr/share/lintian/overrides/hopwatch"

# changelog.Debian: a snapshot entry above the packaging changelog when the version is not
# the changelog's own
{
	if [ "$VERSION" != "$CL_VERSION" ]; then
		printf 'hopwatch (%s) UNRELEASED; urgency=medium\n\n' "$VERSION"
		if [ -n "$SNAPSHOT" ]; then
			printf '  * Snapshot of git commit %s (hopwatch %s).\n\n' "$SNAPSHOT" "$BIN_VERSION"
		else
			printf '  * Built from hopwatch %s.\n\n' "$BIN_VERSION"
		fi
		printf ' -- %s  %s\n\n' "$MAINT" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
	fi
	cat "$PKG/changelog"
} | gzip -9n >"$DOC/changelog.Debian.gz"

# user documentation next to the manual page, compressed above 4 KiB as dh_compress does
for f in "$ROOT/README.md" "$ROOT"/docs/configuration.md "$ROOT"/docs/events.md \
	"$ROOT"/docs/rules.md "$ROOT"/docs/install.md "$ROOT"/docs/incident-response.md; do
	[ -f "$f" ] || continue
	if [ "$(stat -c %s "$f")" -gt 4096 ]; then
		gzip -9n <"$f" >"$DOC/$(basename "$f").gz"
	else
		install -m 0644 "$f" "$DOC/$(basename "$f")"
	fi
done
chmod 0644 "$DOC"/* "$R/usr/share/man/man8/hopwatch.8.gz"

for s in postinst prerm postrm; do
	install -m 0755 "$PKG/$s" "$R/DEBIAN/$s"
done
printf '/etc/hopwatch/hopwatch.conf\n/etc/logrotate.d/hopwatch\n' >"$R/DEBIAN/conffiles"
chmod 0644 "$R/DEBIAN/conffiles"

# shared-library dependencies, as dpkg-shlibdeps finds them (it wants a debian/control)
mkdir -p "$WORK/src/debian"
printf 'Source: hopwatch\n\nPackage: hopwatch\nArchitecture: any\n' >"$WORK/src/debian/control"
DEPENDS=$(cd "$WORK/src" && dpkg-shlibdeps -O "$R/usr/sbin/hopwatch" 2>"$WORK/shlibdeps.err" |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] ||
	die "dpkg-shlibdeps found no dependencies of '$BIN': $(cat "$WORK/shlibdeps.err")"

# md5sums of everything but the conffiles (dpkg keeps theirs), as dh_md5sums does
(cd "$R" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
	grep -v -x -e 'etc/hopwatch/hopwatch.conf' -e 'etc/logrotate.d/hopwatch' |
	xargs md5sum) >"$R/DEBIAN/md5sums"
chmod 0644 "$R/DEBIAN/md5sums"

SIZE=$(du -k -s --apparent-size --exclude=DEBIAN "$R" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@INSTALLED_SIZE@|$SIZE|" \
	-e "s|@DEPENDS@|$DEPENDS|" "$PKG/control.in" >"$R/DEBIAN/control"
chmod 0644 "$R/DEBIAN/control"

find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$R" "$DEB" >/dev/null
echo "$DEB"
