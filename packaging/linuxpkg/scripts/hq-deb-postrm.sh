#!/bin/sh
# postrm of the watchpost-hq .deb. remove: keep the data
# (/var/lib/watchpost-hq, with the signing key), the configuration and the
# user, as Debian policy wants. purge: delete the data directory (store,
# broker, snapshots AND the signing key in keys/), the service's state in
# systemd and the user.
set -e

# @include lib-deb.sh

unit=watchpost-hq.service

case "$1" in
remove)
	deb_unit_removed remove "$unit"
	;;
purge)
	deb_unit_removed purge "$unit"
	rm -rf /var/lib/watchpost-hq
	# dpkg has removed the conffile; keep whatever the administrator added
	# (certificates, token files) but say so.
	rm -f /etc/watchpost-hq/serve.env.dpkg-old /etc/watchpost-hq/serve.env.dpkg-new \
		/etc/watchpost-hq/serve.env.dpkg-dist /etc/watchpost-hq/serve.env.dpkg-bak
	if [ -d /etc/watchpost-hq ] && ! rmdir /etc/watchpost-hq 2>/dev/null; then
		echo "watchpost-hq: kept /etc/watchpost-hq: it holds files the package did not install (certificates, tokens); remove them yourself"
	fi
	deb_deluser watchpost-hq
	;;
esac

exit 0
