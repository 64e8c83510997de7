#!/bin/sh
# postrm of the watchpost-hq .deb. remove: keep the data
# (/var/lib/watchpost-hq, with the signing key), the configuration and the
# user, as Debian policy wants. purge: delete the data directory (store,
# broker, snapshots AND the signing key in keys/), the service's state in
# systemd and the user.
set -e

unit=watchpost-hq.service

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
	rm -rf /var/lib/watchpost-hq
	# dpkg has removed the conffile; keep whatever the administrator added
	# (certificates, token files) but say so.
	rm -f /etc/watchpost-hq/serve.env.dpkg-old /etc/watchpost-hq/serve.env.dpkg-new \
		/etc/watchpost-hq/serve.env.dpkg-dist /etc/watchpost-hq/serve.env.dpkg-bak
	if [ -d /etc/watchpost-hq ] && ! rmdir /etc/watchpost-hq 2>/dev/null; then
		echo "watchpost-hq: kept /etc/watchpost-hq: it holds files the package did not install (certificates, tokens); remove them yourself"
	fi
	if getent passwd watchpost-hq >/dev/null; then
		if command -v deluser >/dev/null; then
			deluser --system --quiet watchpost-hq >/dev/null || true
		else
			userdel watchpost-hq >/dev/null 2>&1 || true
		fi
	fi
	if getent group watchpost-hq >/dev/null; then
		if command -v delgroup >/dev/null; then
			delgroup --system --quiet watchpost-hq >/dev/null || true
		else
			groupdel watchpost-hq >/dev/null 2>&1 || true
		fi
	fi
	;;
esac

exit 0
