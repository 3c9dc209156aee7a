#!/bin/sh
# Installs the Debian packages the test suite runs for real: Dovecot (IMAP/POP3), dnsmasq (DNS),
# hivex (registry hives), openssl (test certificates), iproute2 (loopback in `unshare -n`),
# Chromium (prints the client document to PDF and PNG), poppler-utils (pdftotext reads it),
# fetchmail, getmail6, mutt and neomutt, whose own reading of a config is the tests' oracle, and
# unzip (Info-ZIP checks the backup archives), util-linux/mount (setpriv, unshare, tmpfs) and
# isync (mbsync writes Maildir stores the migrate readers are tested on, and `make bench`
# races `mailaudit migrate` against it), and bsdutils (mutt writes MH folders under script(1)).
# Does nothing when they are all there; needs root (or sudo) when they are not.
set -eu
PACKAGES="dovecot-imapd dovecot-pop3d dnsmasq-base libhivex-bin libwin-hivex-perl iproute2 openssl"
PACKAGES="$PACKAGES chromium poppler-utils fetchmail getmail6 mutt neomutt unzip util-linux mount isync bsdutils"
missing=""
for tool in dovecot doveadm dnsmasq hivexregedit hivexsh ip openssl chromium pdftotext fetchmail \
    getmail mutt neomutt unzip setpriv unshare mount mbsync script; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] && exit 0
echo "test tools missing:$missing; installing $PACKAGES" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "not root and no sudo: install these Debian packages by hand: $PACKAGES" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# --no-install-recommends keeps the system services out (dnsmasq-base, not dnsmasq).
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
