# Shell functions of the watchpost package's scripts, .deb and .rpm alike
# (copied in at build time where a script says "# @include lib-post.sh").

# not_started tells the technician that the service is enabled but not
# started because $config does not pass `watchpost config check` (whose
# output is $check), and what to do next.
not_started() {
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
}
