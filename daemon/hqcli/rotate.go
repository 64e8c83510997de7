package hqcli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

func runRotate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "rotate", "--new-pub FILE --not-after TIME [--not-before TIME] (--hq URL [--token-file FILE --ca FILE] | --data-dir DIR --key FILE --broker URL)")
	f := addPubFlags(fs)
	var c hqClient
	c.addFlags(fs)
	fs.Lookup("hq").Usage = "announce through a running serve at this URL, e.g. https://hq.example:8443 (instead of --data-dir, --key, --broker)"
	fs.Lookup("key").Usage = "HQ's current signing key, which signs the announcement (required without --hq)"
	newPub := fs.String("new-pub", "", "hq.pub of the new key, made with keygen --dir (required)")
	notBefore := fs.String("not-before", "", "RFC 3339 time from which posts accept the new key (default now)")
	notAfter := fs.String("not-after", "", "RFC 3339 time at which the new key expires, e.g. 2027-12-31T00:00:00Z (required)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkPubOrHQ(fs, f, &c); err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("rotate takes no arguments")
	case *newPub == "":
		return usagef("--new-pub is required (the hq.pub that keygen wrote for the new key)")
	case *notAfter == "":
		return usagef("--not-after is required: the new key must expire")
	}
	var nb, na time.Time
	if *notBefore != "" {
		if nb, err = time.Parse(time.RFC3339, *notBefore); err != nil {
			return usagef("--not-before %q: want an RFC 3339 time", *notBefore)
		}
	}
	if na, err = time.Parse(time.RFC3339, *notAfter); err != nil {
		return usagef("--not-after %q: want an RFC 3339 time, e.g. 2027-12-31T00:00:00Z", *notAfter)
	}
	pub, err := readPublicKey(*newPub)
	if err != nil {
		return err
	}
	var res hqserver.KeyResponse
	if c.hqURL != "" {
		body, err := json.Marshal(hqserver.KeyRequest{PublicKey: protocol.FormatPublicKey(pub), NotBefore: nb, NotAfter: na})
		if err != nil {
			return err
		}
		if err := c.do(ctx, http.MethodPost, protocol.PathKeys, bytes.NewReader(body), int64(len(body)), &res); err != nil {
			return err
		}
	} else {
		s, err := open(ctx, env, f)
		if err != nil {
			return err
		}
		r, err := s.Publisher().AnnounceKey(ctx, pub, nb, na)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		res = hqserver.NewKeyResponse(r)
	}
	printRotated(env.Stdout, res, *newPub, c.hqURL)
	return nil
}

// readPublicKey reads the one key of a key set file (keygen's hq.pub).
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	ks, err := protocol.ParseKeySet(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("new key %s: %w", path, err)
	}
	keys := ks.Keys()
	if len(keys) != 1 {
		return nil, fmt.Errorf("new key %s: holds %d keys, want the one keygen wrote", path, len(keys))
	}
	return keys[0].Public, nil
}

// printRotated prints the announcement and what the operator does next.
func printRotated(w io.Writer, r hqserver.KeyResponse, newPub, hqURL string) {
	again := ""
	if r.Republished {
		again = " (announced before with the same window: published again)"
	}
	fmt.Fprintf(w, "announced key %s, signed by key %s%s\n", r.KeyID, r.SignerID, again)
	fmt.Fprintf(w, "valid from %s until %s; retained on %s (%d bytes)\n",
		r.NotBefore.UTC().Format(time.RFC3339), r.NotAfter.UTC().Format(time.RFC3339), r.Topic, r.Bytes)
	where := "--hq " + hqURL
	if hqURL == "" {
		where = "--hq https://… (or --data-dir with serve stopped)"
	}
	newKey := filepath.Join(filepath.Dir(newPub), publish.PrivateKeyFile)
	fmt.Fprintf(w, "next steps:\n")
	fmt.Fprintf(w, "  1. wait until `watchpost-hq posts %s` lists key %s in the KEYS column of every post\n", where, r.KeyID)
	fmt.Fprintf(w, "     (a post offline now gets it when it reconnects; serve re-publishes it with the heads)\n")
	fmt.Fprintf(w, "  2. from %s on, restart serve with --key %s\n", r.NotBefore.UTC().Format(time.RFC3339), newKey)
	fmt.Fprintf(w, "  3. keep the old key file until every post has the new one: a post that never got this announcement\n")
	fmt.Fprintf(w, "     needs the new key added to its trusted keys by hand once HQ signs with it\n")
}

// retention is a duration flag that also takes days (30d) and years
// (5y, 365 days each); 0 means forever.
type retention struct{ d time.Duration }

func (r *retention) String() string {
	if r == nil {
		return ""
	}
	switch d := r.d; {
	case d == 0:
		return "0"
	case d%(365*24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(365*24*time.Hour)), 10) + "y"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return r.d.String()
}

func (r *retention) Set(s string) error {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseUint(n, 10, 16)
			if err != nil {
				return fmt.Errorf("want a number of %s, e.g. 30d or 5y", map[string]string{"y": "years", "d": "days"}[u.suffix])
			}
			r.d = time.Duration(v) * u.unit
			return nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want a duration such as 5y, 30d or 12h (0: forever)")
	}
	r.d = d
	return nil
}

// config returns the hqserver form: 0 (forever) becomes negative.
func (r retention) config() time.Duration {
	if r.d == 0 {
		return -1
	}
	return r.d
}
