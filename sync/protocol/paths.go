package protocol

import (
	"fmt"
	"strconv"
	"strings"
)

// HQ's HTTPS paths (PROTOCOL.md §7). Posts fetch snapshot and delta
// files; operators (watchpost-hq lists, posts, hits, audit, publish,
// heads and rotate with --hq) use the admin paths under /v1/.
const (
	// PathHealth answers "ok".
	PathHealth = "/healthz"
	// PathSnapshots prefixes GET <hq>/snapshots/<SnapshotFileName>.
	PathSnapshots = "/snapshots/"
	// PathDeltas prefixes GET <hq>/deltas/<list>/<DeltaFileName>.
	PathDeltas = "/deltas/"
	// PathPosts is GET /v1/posts: the fleet table.
	PathPosts = "/v1/posts"
	// PathHits is GET /v1/hits: the records the posts sent.
	PathHits = "/v1/hits"
	// PathAudit is GET /v1/audit?post=<post>: HQ's check of a post's
	// audit chain.
	PathAudit = "/v1/audit"
	// PathListsIndex is GET /v1/lists: the lists HQ publishes and their
	// state.
	PathListsIndex = "/v1/lists"
	// PathLists prefixes POST /v1/lists/<list>/editions (EditionsPath).
	PathLists = PathListsIndex + "/"
	// PathHeads is POST /v1/heads: re-sign every list's head.
	PathHeads = "/v1/heads"
	// PathKeys is POST /v1/keys: announce HQ's next signing key.
	PathKeys = "/v1/keys"
	// PathUsers is GET /v1/users: the HQ console's accounts, without
	// their password hashes.
	PathUsers = "/v1/users"
	// EditionsSuffix ends the editions path after the list name.
	EditionsSuffix = "/editions"
)

// EditionsPath is the URL path of POST /v1/lists/<list>/editions.
func EditionsPath(list string) string { return PathLists + list + EditionsSuffix }

// SnapshotFileName is the name of the snapshot file of a list version:
// <list>-<epoch>-<version>.snap, in HQ's snapshot directory, under
// PathSnapshots, and in a post's download directory.
func SnapshotFileName(list string, epoch, version uint64) string {
	return fmt.Sprintf("%s-%d-%d.snap", list, epoch, version)
}

// ParseSnapshotFileName is the inverse of SnapshotFileName; it accepts
// exactly the names SnapshotFileName makes (a valid list name, decimal
// numbers without leading zeros).
func ParseSnapshotFileName(name string) (list string, epoch, version uint64, ok bool) {
	base, ok := strings.CutSuffix(name, ".snap")
	if !ok {
		return "", 0, 0, false
	}
	i := strings.LastIndexByte(base, '-')
	if i < 0 {
		return "", 0, 0, false
	}
	version, okV := decimal(base[i+1:])
	base = base[:i]
	i = strings.LastIndexByte(base, '-')
	if i < 0 {
		return "", 0, 0, false
	}
	epoch, okE := decimal(base[i+1:])
	list = base[:i]
	if !okV || !okE || ValidListName(list) != nil {
		return "", 0, 0, false
	}
	return list, epoch, version, true
}

// DeltaFileName is the name of the sealed delta to version to of a
// list's epoch: <epoch>-<to>.delta, in the list's directory of HQ's delta
// directory and under PathDeltas<list>/.
func DeltaFileName(epoch, to uint64) string { return fmt.Sprintf("%d-%d.delta", epoch, to) }

// ParseDeltaFileName is the inverse of DeltaFileName; it accepts exactly
// the names DeltaFileName makes.
func ParseDeltaFileName(name string) (epoch, to uint64, ok bool) {
	base, ok := strings.CutSuffix(name, ".delta")
	if !ok {
		return 0, 0, false
	}
	es, vs, ok := strings.Cut(base, "-")
	epoch, okE := decimal(es)
	to, okV := decimal(vs)
	if !ok || !okE || !okV {
		return 0, 0, false
	}
	return epoch, to, true
}

// DeltaURL is where a post fetches the sealed delta to version to of
// list's epoch from HQ's HTTPS base URL.
func DeltaURL(base, list string, epoch, to uint64) string {
	return strings.TrimRight(base, "/") + PathDeltas + list + "/" + DeltaFileName(epoch, to)
}

// SnapshotsURL is the URL under which HQ at base serves its snapshot
// directory: what heads name snapshots under (SnapshotsURL(base) + "/" +
// SnapshotFileName).
func SnapshotsURL(base string) string {
	return strings.TrimRight(base, "/") + strings.TrimSuffix(PathSnapshots, "/")
}

// decimal parses a positive number without leading zeros that fits
// uint64.
func decimal(s string) (uint64, bool) {
	if s == "" || s[0] == '0' || len(s) > 20 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}
