#!/bin/sh
# %post of the watchpost .rpm ($1 is 1 on install, 2 or more on upgrade):
# the data directory, the store encryption key (/etc/watchpost/store.key,
# never overwritten), enable the service on first install, and start (or
# restart) it only when the configuration passes `watchpost config check`.
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

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
	# systemctl enable works without a running systemd (image builds).
	systemctl enable "$unit" >/dev/null 2>&1 || :
fi

if check=$(/usr/bin/watchpost config check --config "$config" 2>&1); then
	if [ -d /run/systemd/system ]; then
		if [ "$1" -eq 1 ]; then
			systemctl start "$unit" >/dev/null 2>&1 || :
		else
			systemctl try-restart "$unit" >/dev/null 2>&1 || :
		fi
	fi
else
	cat <<MSG
watchpost: the service is enabled but NOT started: $config does not pass
\`watchpost config check\` yet:
$(printf '%s\n' "$check" | sed 's/^/    /')
Next steps:
  1. Edit $config: set post_id (this post's id as HQ knows
     it), hq.brokers, hq.keys_file (put HQ's public keys next to the
     config, e.g. /etc/watchpost/hq-keys.txt) and lists.
  2. Check it:   watchpost config check
  3. Start it:   systemctl start watchpost
  4. Diagnose:   watchpost doctor   (and journalctl -u watchpost)
MSG
fi
exit 0
