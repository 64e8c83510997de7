package doctor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/daemon/service"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
)

// learnedKeysFile is where the post keeps HQ keys learned by rotation,
// inside the data directory (daemon/store.go, learnedKeys).
const learnedKeysFile = "keys.txt"

func (x *run) checkDataDir() {
	dir := x.cfg.DataDir
	if dir == "" {
		dir = paths.DataDir()
	}
	x.data = dir
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := existingParent(dir)
		if parent == "" {
			x.r.add("data dir", Fail, "%s does not exist and no parent of it does: set data_dir to a writable place", dir)
			return
		}
		if err := writeTest(parent); err != nil {
			x.r.add("data dir", Fail, "%s does not exist and cannot be created: %s is not writable (%v): create it and give the service user write access", dir, parent, err)
			return
		}
		x.dataMissing = true
		x.r.add("data dir", Warn, "%s does not exist yet: the post creates it at its first start (%s is writable)", dir, parent)
		x.checkFree(parent)
		return
	case err != nil:
		x.r.add("data dir", Fail, "%s: %v: set data_dir to a directory", dir, err)
		return
	case !fi.IsDir():
		x.r.add("data dir", Fail, "%s is not a directory: set data_dir to a directory", dir)
		return
	}
	x.dataOK = true
	if err := writeTest(dir); err != nil {
		x.r.add("data dir", Fail, "%s is not writable (%v): give the service user write access (chown -R %s %s)", dir, err, service.User, dir)
	} else {
		x.r.add("data dir", OK, "%s is writable", dir)
	}
	x.checkFree(dir)
}

// existingParent returns the nearest ancestor of dir that exists as a
// directory ("" for none).
func existingParent(dir string) string {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				return p
			}
			return ""
		}
		if filepath.Dir(p) == p {
			return ""
		}
	}
}

// writeTest creates and removes a temporary file in dir.
func writeTest(dir string) error {
	f, err := os.CreateTemp(dir, ".watchpost-doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_, werr := f.WriteString("doctor\n")
	cerr := f.Close()
	rerr := os.Remove(name)
	return errors.Join(werr, cerr, rerr)
}

func (x *run) checkFree(dir string) {
	free, err := x.diskFree(dir)
	reserve := x.diskReserve()
	switch {
	case err != nil:
		x.r.add("disk space", Skipped, "free space of %s not measured: %v", dir, err)
	case free < reserve:
		x.r.add("disk space", Fail, "disk low: %s free on %s, below the store's reserve of %s (store.disk_reserve): the store refuses to open and to write; a running post screens on the lists it holds but records nothing (507) and takes no list update; free space or move data_dir",
			bytesString(free), dir, bytesString(reserve))
	case free < FailFreeBytes:
		x.r.add("disk space", Fail, "%s free on %s (below %s): free space or move data_dir; the store cannot grow", bytesString(free), dir, bytesString(FailFreeBytes))
	case free < WarnFreeBytes:
		x.r.add("disk space", Warn, "%s free on %s (below %s): a list snapshot may not fit; free space", bytesString(free), dir, bytesString(WarnFreeBytes))
	default:
		x.r.add("disk space", OK, "%s free on %s", bytesString(free), dir)
	}
}

func bytesString(n uint64) string { return badgerstore.Bytes(n) }

// diskReserve is the store's disk reserve as configured.
func (x *run) diskReserve() uint64 {
	if x.cfg != nil && x.cfg.Store.DiskReserve > 0 {
		return uint64(x.cfg.Store.DiskReserve)
	}
	return badgerstore.DefaultDiskReserve
}

// probeAPI asks the running post for its status (as `watchpost status`
// does). It records whether anything answered at all: an answer, even a
// refusal, means the post runs and holds the store.
func (x *run) probeAPI(ctx context.Context) {
	x.apiBase = x.d.APIBase
	if x.apiBase == "" {
		if !x.cfg.API.Enabled() {
			x.apiErr = "the local API is off (api.listen)"
			return
		}
		x.apiBase = "http://" + x.cfg.API.Listen
	}
	client := x.d.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: APITimeout}
	}
	ctx, cancel := context.WithTimeout(ctx, APITimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, x.apiBase+"/v1/status", nil)
	if err != nil {
		x.apiErr = err.Error()
		return
	}
	if len(x.cfg.API.Tokens) > 0 {
		req.Header.Set("Authorization", "Bearer "+x.cfg.API.Tokens[0].Reveal())
	}
	resp, err := client.Do(req)
	if err != nil {
		x.apiErr = fmt.Sprintf("the API at %s does not answer (%v)", x.apiBase, err)
		return
	}
	defer resp.Body.Close()
	x.answered = true
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		x.apiErr = fmt.Sprintf("GET %s/v1/status: %v", x.apiBase, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = ": check api.tokens_file (the first token is used)"
		}
		x.apiErr = fmt.Sprintf("GET %s/v1/status: %s%s", x.apiBase, resp.Status, hint)
		return
	}
	var st api.Status
	if err := json.Unmarshal(b, &st); err != nil {
		x.apiErr = fmt.Sprintf("GET %s/v1/status: %v", x.apiBase, err)
		return
	}
	x.status = &st
}

func (x *run) checkStore() {
	dir := daemon.StoreDir(x.data)
	switch {
	case x.answered:
		x.r.add("store", OK, "%s is in use by the running post (its API at %s answered)", dir, x.apiBase)
		return
	case !x.dataOK:
		x.r.add("store", Skipped, "no usable data directory (see data dir)")
		return
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		x.r.add("store", Fail, "no store in %s: the post creates it at its first start; import a list (watchpost import) or connect it to HQ", x.data)
		return
	}
	logger := x.d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st, err := daemon.OpenStoreWith(x.data, daemon.StoreOptions{
		Key: x.cfg.Store.Key(), Logger: logger, DiskReserve: int64(x.diskReserve()), FreeSpace: x.d.DiskFree,
	})
	if err != nil {
		x.storeErr = err
		if errors.Is(err, badgerstore.ErrEncryptionKey) {
			x.r.add("store", Fail, "%v", err)
			return
		}
		if strings.Contains(err.Error(), "in use by another process") {
			x.r.add("store", Fail, "another process holds the store %s and %s: a hung watchpost, or a 'watchpost import' or 'lists' still running? stop it", dir, x.apiErr)
			return
		}
		x.r.add("store", Fail, "%v", err)
		return
	}
	x.st = st
	lists, err := st.Lists()
	if err != nil {
		x.r.add("store", Fail, "read the lists in %s: %v", dir, err)
		return
	}
	entries := 0
	for _, l := range lists {
		entries += l.Entries
	}
	x.r.add("store", OK, "%s opens (the post is not running): %d lists, %d entries", dir, len(lists), entries)
}

// checkEncryption reports whether the store is encrypted at rest: a key
// configured and the store open with it (by the running post, or by
// checkStore), or no key at all.
func (x *run) checkEncryption() {
	const check = "store encryption"
	if x.cfg.Store.EncryptionKey.IsSet() {
		switch {
		case x.answered:
			x.r.add(check, OK, "a key is configured (AES-256); the running post holds the store (opened with the key configured when it started; a store that key does not fit would have stopped it)")
		case x.st != nil:
			x.r.add(check, OK, "%s is encrypted at rest (AES-256) and opens with the configured key", daemon.StoreDir(x.data))
		case x.dataMissing || x.dataOK && x.storeErr == nil:
			x.r.add(check, OK, "a key is configured (AES-256): the post creates its store encrypted")
		case errors.Is(x.storeErr, badgerstore.ErrEncryptionKey):
			x.r.add(check, Fail, "the configured key does not open the store (see store)")
		default:
			x.r.add(check, Skipped, "a key is configured, but the store could not be opened to try it (see store)")
		}
		return
	}
	if x.cfg.Store.EncryptionKeyFile != "" {
		x.r.add(check, Fail, "store.encryption_key_file is set but no key could be read from it (see config)")
		return
	}
	if errors.Is(x.storeErr, badgerstore.ErrEncryptionKey) {
		x.r.add(check, Fail, "the store is encrypted but no key is configured: set store.encryption_key_file to the file holding its key (see store)")
		return
	}
	x.r.add(check, Warn, "data at rest is not encrypted: a stolen machine gives away the lists and traveller records. "+
		"Make a key (watchpost config new-store-key /etc/watchpost/store.key) and set store.encryption_key_file; "+
		"an existing store must be recreated: wait for 'watchpost status' to show 0 outbox records, stop the post, move %s away and start it (the lists come back from HQ)", daemon.StoreDir(x.data))
}

// head is a verified head's issue time, for the clock check.
type head struct {
	list   string
	issued time.Time
}

// checkLists reports the lists, from the running post's status or from the
// store, and returns the heads they were last confirmed by.
func (x *run) checkLists() []head {
	switch {
	case x.status != nil:
		return x.listsFromStatus()
	case x.answered:
		x.r.add("lists", Warn, "the post runs but its status is unreadable: %s", x.apiErr)
		return nil
	case x.st != nil:
		return x.listsFromStore()
	case x.dataMissing:
		x.r.add("lists", Fail, "no list loaded (%s does not exist yet): the post cannot screen; connect it to HQ, or 'watchpost import' a list", x.data)
		return nil
	default:
		x.r.add("lists", Skipped, "neither the running post nor the store could be read (see store)")
		return nil
	}
}

func (x *run) listsFromStatus() []head {
	var heads []head
	loaded := 0
	for _, l := range x.status.Lists {
		desc := fmt.Sprintf("%s epoch %d version %d, %d entries", l.List, l.Epoch, l.Version, l.Entries)
		if !l.HeadIssuedAt.IsZero() {
			heads = append(heads, head{l.List, l.HeadIssuedAt})
			desc += fmt.Sprintf(", head issued %s valid until %s", stamp(l.HeadIssuedAt), stamp(l.HeadValidUntil))
		}
		empty := l.Version == 0 && l.Entries == 0
		if l.LastError != "" && !(empty && l.Rejected > 0) {
			desc += "; last error: " + l.LastError
		}
		if !empty {
			loaded++
		}
		switch {
		case empty && l.Rejected > 0:
			// HQ's messages arrive but none verifies: the post holds the
			// wrong HQ key, or its clock puts the heads out of validity.
			x.r.add("lists", Warn, "%s: received from HQ but rejected (%d messages; the last because: %s): see hq keys and clock", desc, l.Rejected, cmp.Or(l.LastError, "not recorded"))
		case empty:
			x.r.add("lists", Warn, "%s: not received from HQ yet (see broker, HQ https)", desc)
		case l.Stale != "":
			x.r.add("lists", Warn, "%s: STALE (%s): screening continues on this version; check the link to HQ", desc, l.Stale)
		case l.Diverged:
			x.r.add("lists", Warn, "%s: diverged from HQ, a snapshot is pending (see HQ https)", desc)
		default:
			x.r.add("lists", OK, "%s", desc)
		}
	}
	if loaded == 0 {
		x.r.add("lists", Fail, "no list loaded: the post cannot screen (connect it to HQ, or 'watchpost import' a list while it is stopped)")
	}
	return heads
}

func (x *run) listsFromStore() []head {
	lists, err := x.st.Lists()
	if err != nil {
		x.r.add("lists", Fail, "read the lists: %v", err)
		return nil
	}
	if len(lists) == 0 {
		x.r.add("lists", Fail, "no list loaded in %s: the post cannot screen (connect it to HQ, or 'watchpost import' a list)", daemon.StoreDir(x.data))
		return nil
	}
	// The replication state (last verified head) is read through the
	// applier, which needs the key set and the configured lists.
	byName := map[string]replica.ListStatus{}
	if x.cfg.HQ.KeySet != nil && len(x.cfg.Lists) > 0 {
		a, err := replica.New(replica.FromBadger(x.st), replica.Config{Keys: x.cfg.HQ.KeySet, Lists: x.cfg.Lists, Clock: x.clock})
		if err == nil {
			if sts, err := a.Statuses(); err == nil {
				for _, s := range sts {
					byName[s.List] = s
				}
			}
		}
	}
	var heads []head
	for _, l := range lists {
		age := x.now.Sub(l.ImportedAt)
		desc := fmt.Sprintf("%s version %d, %d entries, written %s (%s ago)", l.Name, l.Version, l.Entries, stamp(l.ImportedAt), roundAge(age))
		rs, replicated := byName[l.Name]
		if replicated && !rs.HeadIssuedAt.IsZero() {
			heads = append(heads, head{l.Name, rs.HeadIssuedAt})
			desc += fmt.Sprintf(", head issued %s valid until %s", stamp(rs.HeadIssuedAt), stamp(rs.HeadValidUntil))
		}
		switch {
		case replicated && rs.Diverged:
			x.r.add("lists", Warn, "%s: diverged from HQ, a snapshot is needed (the post fetches it when it runs)", desc)
		case age > MaxListAge:
			x.r.add("lists", Warn, "%s: older than %.0fh: check the link to HQ, or import a newer edition", desc, MaxListAge.Hours())
		default:
			x.r.add("lists", OK, "%s", desc)
		}
	}
	return heads
}

func (x *run) checkClock(heads []head) {
	const hq = "the precise offset from HQ is shown at HQ ('watchpost-hq posts')"
	if x.status != nil {
		d := x.status.Clock.Sub(x.now)
		if d < 0 {
			d = -d
		}
		if d > MaxClockAhead {
			x.r.add("clock", Warn, "the post's API at %s reports its clock as %s, this machine says %s: is api.listen another machine's?", x.apiBase, stamp(x.status.Clock), stamp(x.now))
		} else {
			x.r.add("clock", OK, "the running post's clock agrees with this machine's (%s)", stamp(x.now))
		}
	}
	if len(heads) == 0 {
		x.r.add("clock", Skipped, "no signed head from HQ yet to compare this machine's clock (%s) with; %s", stamp(x.now), hq)
		return
	}
	newest := heads[0]
	for _, h := range heads[1:] {
		if h.issued.After(newest.issued) {
			newest = h
		}
	}
	ahead := newest.issued.Sub(x.now)
	if ahead > MaxClockAhead {
		x.r.add("clock", Fail, "this machine's clock (%s) is behind: HQ signed the head of %s at %s, %s later; set the time (NTP / w32time); %s", stamp(x.now), newest.list, stamp(newest.issued), roundAge(ahead), hq)
		return
	}
	x.r.add("clock", OK, "newest signed head (%s) issued %s, %s before this machine's clock; %s", newest.list, stamp(newest.issued), roundAge(-ahead), hq)
}

func (x *run) checkKeys() {
	h := x.cfg.HQ
	online := len(h.Brokers) > 0
	ks := h.KeySet
	if ks == nil {
		switch {
		case h.KeysFile != "" || len(h.Keys) > 0:
			x.r.add("hq keys", Fail, "the HQ key set (hq.keys_file %s / hq.keys) cannot be read: see the config findings", h.KeysFile)
		case online:
			x.r.add("hq keys", Fail, "no HQ key and hq.brokers is set: no list from HQ can be verified; set hq.keys_file to HQ's key file")
		default:
			x.r.add("hq keys", Skipped, "no HQ key and no hq.brokers: the post runs offline on imported lists")
		}
		return
	}
	keys := ks.Keys()
	source := h.KeysFile
	if source == "" {
		source = "hq.keys"
	}
	// Keys learned by rotation count too: the post trusts them.
	if b, err := os.ReadFile(filepath.Join(x.data, learnedKeysFile)); err == nil {
		if learned, err := protocol.ParseKeySet(strings.NewReader(string(b))); err == nil {
			seen := map[protocol.KeyID]bool{}
			for _, k := range keys {
				seen[k.ID()] = true
			}
			for _, k := range learned.Keys() {
				if !seen[k.ID()] {
					keys = append(keys, k)
				}
			}
			source += " + " + filepath.Join(x.data, learnedKeysFile)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ID().String() < keys[j].ID().String() })
	var descs []string
	valid := 0
	var lastValid time.Time // latest NotAfter among valid keys; zero = unbounded
	unbounded := false
	for _, k := range keys {
		descs = append(descs, k.ID().String()+" "+window(k))
		if k.ValidAt(x.now) == nil {
			valid++
			if k.NotAfter.IsZero() {
				unbounded = true
			} else if k.NotAfter.After(lastValid) {
				lastValid = k.NotAfter
			}
		}
	}
	desc := fmt.Sprintf("%d keys from %s: %s", len(keys), source, strings.Join(descs, ", "))
	switch {
	case valid == 0:
		x.r.add("hq keys", Fail, "%s: none is valid now (%s): get HQ's current key file", desc, stamp(x.now))
	case !unbounded && lastValid.Sub(x.now) < ExpiryWarning:
		x.r.add("hq keys", Warn, "%s: the last valid key expires %s: HQ must rotate (the post learns the new key while online)", desc, stamp(lastValid))
	default:
		x.r.add("hq keys", OK, "%s", desc)
	}
}

func window(k protocol.TrustedKey) string {
	switch {
	case k.NotBefore.IsZero() && k.NotAfter.IsZero():
		return "(no expiry)"
	case k.NotBefore.IsZero():
		return "(until " + stamp(k.NotAfter) + ")"
	case k.NotAfter.IsZero():
		return "(from " + stamp(k.NotBefore) + ")"
	default:
		return "(" + stamp(k.NotBefore) + " to " + stamp(k.NotAfter) + ")"
	}
}

func (x *run) checkService() {
	status := x.d.ServiceStatus
	if status == nil {
		path := x.path
		status = func() (service.State, error) { return service.Status(service.Options{ConfigPath: path}) }
	}
	state, err := status()
	switch state {
	case service.StateRunning:
		x.r.add("service", OK, "installed and running (%s)", service.Platform())
	case service.StateStopped:
		x.r.add("service", Warn, "installed but not running: watchpost service start")
	case service.StateFailed:
		x.r.add("service", Fail, "the service failed: see its log (journalctl -u %s, or the Windows Event Log), then watchpost service restart", service.Name)
	case service.StateNotInstalled:
		if x.d.Interactive {
			x.r.add("service", Warn, "the service is not installed: watchpost service install")
		} else {
			x.r.add("service", Skipped, "the service is not installed (not run from a terminal)")
		}
	default:
		detail := "the service manager's state is unknown"
		if err != nil {
			detail += ": " + err.Error()
		}
		x.r.add("service", Skipped, "%s", detail)
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func roundAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Second).String()
	}
}
