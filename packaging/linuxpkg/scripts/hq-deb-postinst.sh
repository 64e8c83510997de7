#!/bin/sh
# postinst of the watchpost-hq .deb: create the service user and the data
# directory, enable watchpost-hq.service, and start it only when HQ is
# configured (/usr/lib/watchpost-hq/serve-configured: serve.env's
# arguments are not empty and name a --key file that watchpost-hq can
# read). Safe in a chroot without systemd.
set -e

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

# Enable (on a fresh install) or refresh the enablement symlinks, as
# dh_installsystemd does; works without a running systemd.
deb-systemd-helper unmask "$unit" >/dev/null || true
if deb-systemd-helper --quiet was-enabled "$unit"; then
	deb-systemd-helper enable "$unit" >/dev/null || true
else
	deb-systemd-helper update-state "$unit" >/dev/null || true
fi

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi

# The same check as the unit's ExecCondition=, as the service's user and
# with the arguments split as systemd splits them.
args=""
if [ -r "$envfile" ]; then
	args=$(
		set +e
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
		# Starts only an enabled unit, and honours policy-rc.d.
		deb-systemd-invoke start "$unit" >/dev/null || true
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
