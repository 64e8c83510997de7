#!/bin/sh
# %postun of the watchpost .rpm. rpm has no purge: erase keeps the data
# directory (/var/lib/watchpost), the user, the store key %post made
# (/etc/watchpost/store.key) and an edited configuration (saved as
# watchpost.yaml.rpmsave); packaging/README.md says how to delete them.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
