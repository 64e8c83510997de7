#!/bin/sh
# %postun of the watchpost-hq .rpm. rpm has no purge: erase keeps the data
# directory (/var/lib/watchpost-hq, with the signing key), the user and an
# edited serve.env (saved as serve.env.rpmsave); packaging/README.md says
# how to delete them.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
