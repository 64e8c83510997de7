#!/bin/sh
# postinst of the watchpost .deb: create the service user, the data
# directory and the store encryption key (/etc/watchpost/store.key, never
# overwritten), enable the service, and start it only when the
# configuration passes `watchpost config check`. Safe in a chroot without
# systemd.
set -e

# @include lib-deb.sh
# @include lib-post.sh

unit=watchpost.service
config=/etc/watchpost/watchpost.yaml
datadir=/var/lib/watchpost
storekey=/etc/watchpost/store.key

case "$1" in
configure)
	if ! getent group watchpost >/dev/null; then
		addgroup --system --quiet watchpost
	fi
	if ! getent passwd watchpost >/dev/null; then
		adduser --system --quiet --ingroup watchpost --home "$datadir" \
			--no-create-home --shell /usr/sbin/nologin \
			--gecos "Watchpost screening service" watchpost
	fi
	# The unit's StateDirectory= makes it too; made here so that
	# `watchpost config check` and the technician see it before the first
	# start, and so that it exists without systemd.
	if [ ! -d "$datadir" ]; then
		mkdir -p "$datadir"
	fi
	chown watchpost:watchpost "$datadir"
	chmod 0700 "$datadir"
	# The key the packaged configuration names (store.encryption_key_file:
	# store.key): made once, on the first install; an upgrade or reinstall
	# keeps the existing one (the store cannot be read with another). Not
	# a conffile: purge deletes it, with the data it opens.
	if [ ! -e "$storekey" ] && [ ! -L "$storekey" ]; then
		if watchpost config new-store-key "$storekey" >/dev/null; then
			chown watchpost:watchpost "$storekey"
			chmod 0600 "$storekey"
			echo "watchpost: made the store encryption key $storekey: back it up to HQ's key safe now; without it the store cannot be read."
		else
			echo "watchpost: WARNING: could not make the store encryption key $storekey; make it with \`watchpost config new-store-key $storekey\` (then chown watchpost:watchpost, chmod 0600)" >&2
		fi
	fi
	;;
abort-upgrade | abort-deconfigure | abort-remove) ;;
*) exit 0 ;;
esac

deb_enable "$unit"

if check=$(watchpost config check --config "$config" 2>&1); then
	if [ -d /run/systemd/system ]; then
		# Starts only an enabled unit, and honours policy-rc.d.
		deb-systemd-invoke start "$unit" >/dev/null || true
	fi
else
	not_started
fi

exit 0
