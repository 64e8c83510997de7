#!/bin/sh
# %post of the watchpost-hq .rpm ($1 is 1 on install, 2 or more on
# upgrade): the data directory, enable the service on first install, and
# start (or restart) it only when HQ is configured
# (/usr/lib/watchpost-hq/serve-configured, as the unit's ExecCondition=).

# @include lib-rpm.sh
# @include lib-hq.sh

unit=watchpost-hq.service
envfile=/etc/watchpost-hq/serve.env
datadir=/var/lib/watchpost-hq
mkdir -p "$datadir"
chown watchpost-hq:watchpost-hq "$datadir"
chmod 0700 "$datadir"

rpm_enable "$1" "$unit"

if hq_configured; then
	rpm_start "$1" "$unit"
else
	hq_not_started
fi
exit 0
