#!/bin/sh
# Install the Debian packages bhyvelet needs to build and test, if any are missing.
# Quiet and fast (one dpkg-query) when everything is there. Uses apt-get as root, else sudo.
# Extra package names may be given as arguments.
set -eu

PACKAGES="gcc make binutils nasm python3 qemu-system-x86 bochs bochs-term bochsbios vgabios
grub-pc-bin grub-common xorriso mtools cppcheck gdb python3-matplotlib $*"
# bochs-term: Debian's bochs has no built-in display; the scripts use display_library: term.
# python3-matplotlib: the PNGs of scripts/traceview.py (make trace-view).

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system (no dpkg-query); install by hand: $(echo $PACKAGES)" >&2
    exit 0
fi

installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $PACKAGES 2>/dev/null |
            awk '$1 == "ii" { print $2 }')
missing=""
for p in $PACKAGES; do
    case " $(echo $installed) " in
        *" $p "*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    if [ -t 0 ]; then SUDO="sudo"; else SUDO="sudo -n"; fi
else
    echo "deps: not root and no sudo; as root run: apt-get install$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 ||
    { echo "deps: apt-get update failed" >&2; exit 1; }
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
    { echo "deps: apt-get install failed:$missing" >&2; exit 1; }
echo "deps: done" >&2
