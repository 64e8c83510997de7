#!/bin/sh
# postrm of the watchpost .deb. remove: keep the data (/var/lib/watchpost),
# the configuration (with the store key /etc/watchpost/store.key) and the
# user, as Debian policy wants. purge: delete the data directory, the
# store key postinst made, the service's state in systemd and the user.
set -e

unit=watchpost.service

case "$1" in
remove)
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper mask "$unit" >/dev/null || true
	fi
	;;
purge)
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper purge "$unit" >/dev/null || true
		deb-systemd-helper unmask "$unit" >/dev/null || true
	fi
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
	if getent passwd watchpost >/dev/null; then
		if command -v deluser >/dev/null; then
			deluser --system --quiet watchpost >/dev/null || true
		else
			userdel watchpost >/dev/null 2>&1 || true
		fi
	fi
	if getent group watchpost >/dev/null; then
		if command -v delgroup >/dev/null; then
			delgroup --system --quiet watchpost >/dev/null || true
		else
			groupdel watchpost >/dev/null 2>&1 || true
		fi
	fi
	;;
esac

exit 0
