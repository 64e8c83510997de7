#!/bin/sh
# %post of the watchpost .rpm ($1 is 1 on install, 2 or more on upgrade):
# the data directory, the store encryption key (/etc/watchpost/store.key,
# never overwritten), enable the service on first install, and start (or
# restart) it only when the configuration passes `watchpost config check`.

# @include lib-rpm.sh
# @include lib-post.sh

unit=watchpost.service
config=/etc/watchpost/watchpost.yaml
storekey=/etc/watchpost/store.key
mkdir -p /var/lib/watchpost
chown watchpost:watchpost /var/lib/watchpost
chmod 0700 /var/lib/watchpost
# The key the packaged configuration names (store.encryption_key_file:
# store.key): made once; an upgrade keeps the existing one (the store
# cannot be read with another). Not owned by the package: rpm -e keeps it.
if [ ! -e "$storekey" ] && [ ! -L "$storekey" ]; then
	if /usr/bin/watchpost config new-store-key "$storekey" >/dev/null; then
		chown watchpost:watchpost "$storekey"
		chmod 0600 "$storekey"
		echo "watchpost: made the store encryption key $storekey: back it up to HQ's key safe now; without it the store cannot be read."
	else
		echo "watchpost: WARNING: could not make the store encryption key $storekey; make it with \`watchpost config new-store-key $storekey\` (then chown watchpost:watchpost, chmod 0600)" >&2
	fi
fi

rpm_enable "$1" "$unit"

if check=$(/usr/bin/watchpost config check --config "$config" 2>&1); then
	rpm_start "$1" "$unit"
else
	not_started
fi
exit 0
