#!/bin/sh
# prerm of the watchpost-hq .deb: stop the service before its files are
# removed or replaced (serve stops within TimeoutStopSec).
set -e

case "$1" in
remove | upgrade | deconfigure)
	if [ -d /run/systemd/system ]; then
		deb-systemd-invoke stop watchpost-hq.service >/dev/null || true
	fi
	;;
esac

exit 0
