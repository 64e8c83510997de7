#!/bin/sh
# postrm of the watchpost .deb. remove: keep the data (/var/lib/watchpost),
# the configuration (with the store key /etc/watchpost/store.key) and the
# user, as Debian policy wants. purge: delete the data directory, the
# store key postinst made, the service's state in systemd and the user.
set -e

# @include lib-deb.sh

unit=watchpost.service

case "$1" in
remove)
	deb_unit_removed remove "$unit"
	;;
purge)
	deb_unit_removed purge "$unit"
	rm -rf /var/lib/watchpost
	# dpkg has removed the conffile; keep whatever the technician added
	# (HQ keys, certificates, token files) but say so.
	# The store encryption key postinst made (not a conffile, so dpkg
	# does not know it): it opens only the store deleted above.
	rm -f /etc/watchpost/store.key
	rm -f /etc/watchpost/watchpost.yaml.dpkg-old /etc/watchpost/watchpost.yaml.dpkg-new \
		/etc/watchpost/watchpost.yaml.dpkg-dist /etc/watchpost/watchpost.yaml.dpkg-bak
	if [ -d /etc/watchpost ] && ! rmdir /etc/watchpost 2>/dev/null; then
		echo "watchpost: kept /etc/watchpost: it holds files the package did not install (keys, certificates); remove them yourself"
	fi
	deb_deluser watchpost
	;;
esac

exit 0
