#!/bin/sh
# %post of the watchpost-hq .rpm ($1 is 1 on install, 2 or more on
# upgrade): the data directory, enable the service on first install, and
# start (or restart) it only when HQ is configured
# (/usr/lib/watchpost-hq/serve-configured, as the unit's ExecCondition=).
unit=watchpost-hq.service
envfile=/etc/watchpost-hq/serve.env
datadir=/var/lib/watchpost-hq
mkdir -p "$datadir"
chown watchpost-hq:watchpost-hq "$datadir"
chmod 0700 "$datadir"

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
	# systemctl enable works without a running systemd (image builds).
	systemctl enable "$unit" >/dev/null 2>&1 || :
fi

args=""
if [ -r "$envfile" ]; then
	args=$(
		WATCHPOST_HQ_SERVE_ARGS=""
		. "$envfile" >/dev/null 2>&1
		printf '%s' "$WATCHPOST_HQ_SERVE_ARGS"
	) || args=""
fi
set -f
# shellcheck disable=SC2086 # split on whitespace, as systemd does
if check=$(runuser -u watchpost-hq -- /usr/lib/watchpost-hq/serve-configured $args 2>&1); then
	set +f
	if [ -d /run/systemd/system ]; then
		if [ "$1" -eq 1 ]; then
			systemctl start "$unit" >/dev/null 2>&1 || :
		else
			systemctl try-restart "$unit" >/dev/null 2>&1 || :
		fi
	fi
else
	set +f
	cat <<MSG
watchpost-hq: the service is enabled but NOT started: HQ is not configured yet:
$(printf '%s\n' "$check" | sed 's/^/    /')
Next steps:
  1. Make HQ's signing key (once; back up hq.key offline):
       runuser -u watchpost-hq -- watchpost-hq keygen --dir $datadir/keys
  2. Edit $envfile: the default serves this host only
     (127.0.0.1); its comments say which lines open HQ to the posts (TLS).
  3. Start it:   systemctl start watchpost-hq
  4. Check it:   systemctl status watchpost-hq; journalctl -u watchpost-hq
MSG
fi
exit 0
