#!/bin/sh
# postinst of the watchpost-hq .deb: create the service user and the data
# directory, enable watchpost-hq.service, and start it only when HQ is
# configured (/usr/lib/watchpost-hq/serve-configured: serve.env's
# arguments are not empty and name a --key file that watchpost-hq can
# read). Safe in a chroot without systemd.
set -e

# @include lib-deb.sh
# @include lib-hq.sh

unit=watchpost-hq.service
envfile=/etc/watchpost-hq/serve.env
datadir=/var/lib/watchpost-hq

case "$1" in
configure)
	if ! getent group watchpost-hq >/dev/null; then
		addgroup --system --quiet watchpost-hq
	fi
	if ! getent passwd watchpost-hq >/dev/null; then
		adduser --system --quiet --ingroup watchpost-hq --home "$datadir" \
			--no-create-home --shell /usr/sbin/nologin \
			--gecos "Watchpost headquarters" watchpost-hq
	fi
	# The unit's StateDirectory= makes it too; made here so that keygen
	# can write into it before the first start, and without systemd.
	if [ ! -d "$datadir" ]; then
		mkdir -p "$datadir"
	fi
	chown watchpost-hq:watchpost-hq "$datadir"
	chmod 0700 "$datadir"
	;;
abort-upgrade | abort-deconfigure | abort-remove) ;;
*) exit 0 ;;
esac

deb_enable "$unit"

if hq_configured; then
	if [ -d /run/systemd/system ]; then
		# Starts only an enabled unit, and honours policy-rc.d.
		deb-systemd-invoke start "$unit" >/dev/null || true
	fi
else
	hq_not_started
fi

exit 0
