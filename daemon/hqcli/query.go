package hqcli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/safeurl"
)

// hqClient calls a running serve's admin API (--hq, --token-file, --ca):
// the way to reach HQ's store while serve holds it (Badger admits one
// process at a time).
type hqClient struct {
	hqURL, tokenFile, ca string
	// timeout bounds a request; 0: only the command's context does.
	timeout time.Duration
}

func (c *hqClient) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.hqURL, "hq", "", "URL of a running serve, e.g. https://hq.example:8443 (its /v1/ API)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding serve's admin bearer token (--admin-token-file of serve)")
	fs.StringVar(&c.ca, "ca", "", "CA certificate that signed serve's HTTPS certificate (PEM; default: the system's)")
}

// check checks --hq's URL and that --token-file and --ca come with it.
func (c *hqClient) check() error {
	switch {
	case c.hqURL != "" && !strings.HasPrefix(c.hqURL, "https://") && !strings.HasPrefix(c.hqURL, "http://"):
		return usagef("--hq must be an http:// or https:// URL")
	case c.hqURL == "" && (c.tokenFile != "" || c.ca != ""):
		return usagef("--token-file and --ca go with --hq")
	}
	return nil
}

// queryFlags say where posts and hits read: serve's HTTP API (--hq), or
// HQ's store directly when serve is not running (--data-dir).
type queryFlags struct {
	hqClient
	dataDir      string
	storeKeyFile string
	asJSON       bool
	cmd          readCommand
}

func addQueryFlags(fs *flag.FlagSet) *queryFlags {
	f := &queryFlags{cmd: readCommand{name: fs.Name()}}
	f.hqClient.addFlags(fs)
	fs.StringVar(&f.dataDir, "data-dir", "", "read HQ's store directly instead; while serve holds it, read through serve (as DATA-DIR/"+serveRecordFile+" says)")
	storeKeyFlag(fs, &f.storeKeyFile)
	fs.BoolVar(&f.asJSON, "json", false, "print JSON instead of a table")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "bound of the query")
	return f
}

func (f *queryFlags) check() error {
	if (f.hqURL == "") == (f.dataDir == "") {
		return usagef("give one of --hq (a running serve) and --data-dir (HQ's store, serve stopped)")
	}
	return f.hqClient.check()
}

// get fetches path from serve and decodes its JSON into v.
func (c *hqClient) get(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodGet, path, nil, 0, v)
}

// do sends a request to serve with body (of size bytes, -1 when unknown)
// and decodes the JSON answer into v. An answer other than 200 is an
// error carrying serve's message; a JSON one is decoded into v as well
// (POST /v1/heads reports the lists it did re-sign).
func (c *hqClient) do(ctx context.Context, method, path string, body io.Reader, size int64, v any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.hqURL, "/")+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	}
	client := &http.Client{}
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return fmt.Errorf("CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("CA %s: no certificate found", c.ca)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	where := *req.URL // for errors: without the query, which may be long
	where.RawQuery = ""
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		msg := strings.TrimSpace(string(b))
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(b, &e) == nil && e.Error != "" {
				msg = e.Error
			}
			if v != nil {
				_ = json.Unmarshal(b, v)
			}
		}
		return &answerError{what: fmt.Sprintf("%s %s: %s: %s", method, safeurl.Of(&where), resp.Status, msg), code: resp.StatusCode}
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s %s: %w", method, safeurl.Of(&where), err)
	}
	return nil
}

// answerError is serve's answer other than 200.
type answerError struct {
	what string
	code int
}

func (e *answerError) Error() string { return e.what }

// parse parses the command's flags and checks them, remembering args
// for the --hq command line that throughServe names.
func (f *queryFlags) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	f.cmd.args = args
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	return pos, f.check()
}

// query reads through serve (GET path, decoded into v) with --hq, else
// runs local on HQ's store opened here; while a running serve holds the
// store, it reads through that serve (throughServe).
func (f *queryFlags) query(ctx context.Context, env *Env, path string, v any, local func(*hqserver.Server) error) error {
	if f.hqURL != "" {
		return f.get(ctx, path, v)
	}
	h, err := openHQ(ctx, env, daemon.HQConfig{DataDir: f.dataDir}, f.storeKeyFile)
	if storeInUse(err) {
		return throughServe(ctx, env, f.dataDir, f.ca, f.cmd, err, func(c *hqClient) error {
			c.timeout = f.timeout
			return c.get(ctx, path, v)
		})
	}
	if err != nil {
		return err
	}
	return errors.Join(local(h.Server()), h.Close())
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runPosts(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "posts", "(--hq URL [--token-file FILE --ca FILE] | --data-dir DIR) [--json]")
	f := addQueryFlags(fs)
	pos, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("posts takes no arguments")
	}
	var resp hqserver.PostsResponse
	if err := f.query(ctx, env, protocol.PathPosts, &resp, func(srv *hqserver.Server) (err error) {
		resp.Now = time.Now().UTC()
		resp.Posts, err = srv.Posts(ctx)
		return err
	}); err != nil {
		return err
	}
	if f.asJSON {
		return printJSON(env.Stdout, resp)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POST\tONLINE\tLAST SEEN\tSOFTWARE\tLISTS (held/published)\tLAG\tOUTBOX\tCLOCK OFFSET\tSTALE\tKEYS\tAUDIT")
	for _, p := range resp.Posts {
		online := p.Presence
		if online == "" {
			online = "?"
		}
		lists, lag := make([]string, 0, len(p.Lists)), uint64(0)
		for _, l := range p.Lists {
			lists = append(lists, fmt.Sprintf("%s %d/%d", l.List, l.Held, l.Published))
			lag = max(lag, l.Lag)
		}
		offset := "-"
		if !p.OffsetAt.IsZero() {
			offset = p.ClockOffset.Round(time.Second).String()
		}
		stale := "-"
		if len(p.Stale) > 0 {
			stale = strings.Join(p.Stale, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Post, online, ago(p.LastSeen, resp.Now), dash(p.Software),
			dash(strings.Join(lists, ", ")), lag, p.Outbox.Records, offset, stale, dash(strings.Join(p.Keys, ",")), auditColumn(p.Audit))
	}
	return tw.Flush()
}

// auditColumn is the AUDIT cell: "-" (nothing received), "ok 1234" (the
// chain verified to entry 1234), or the first fault in capitals with its
// entry (EDITED@17, MISSING@17, OUT-OF-ORDER@17, FORK@17, …).
func auditColumn(a *hqserver.AuditState) string {
	switch {
	case a == nil:
		return "-"
	case a.Fault != nil:
		return strings.ToUpper(a.Flag())
	}
	return fmt.Sprintf("ok %d", a.Verified)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago prints t as a UTC time and its age at now.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second))
}

// kindAll is hits --kind for records of every kind.
const kindAll = "all"

func runHits(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "hits", "(--hq URL [--token-file FILE --ca FILE] | --data-dir DIR) [--post P --list L --kind hit|disposition|status|telemetry|audit|all --since 24h|TIME --limit N] [--json]")
	f := addQueryFlags(fs)
	var hf hqserver.HitFilter
	fs.StringVar(&hf.Post, "post", "", "only this post's records")
	fs.StringVar(&hf.List, "list", "", "only hits on this list")
	fs.StringVar(&hf.Kind, "kind", protocol.RecordHit.String(), "which records: hit (each with its decisions), disposition, status, telemetry, audit, or all")
	since := fs.String("since", "", "only records received since a duration ago (24h) or an RFC 3339 time")
	fs.IntVar(&hf.Limit, "limit", hqserver.DefaultHitsLimit, fmt.Sprintf("at most this many records (1 to %d)", hqserver.MaxHitsLimit))
	pos, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("hits takes no arguments")
	case hf.Limit < 1 || hf.Limit > hqserver.MaxHitsLimit:
		return usagef("--limit must be 1 to %d", hqserver.MaxHitsLimit)
	}
	// Status records come retained and through the outbox too, so they
	// would crowd out the hits: the default is hits only.
	if hf.Kind == kindAll {
		hf.Kind = ""
	} else if _, err := protocol.ParseRecordKind(hf.Kind); err != nil {
		return usagef("--kind %q: want hit, disposition, status, telemetry, audit or %s", hf.Kind, kindAll)
	}
	if *since != "" {
		if d, err := time.ParseDuration(*since); err == nil && d > 0 {
			hf.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, *since); err == nil {
			hf.Since = t
		} else {
			return usagef("--since %q: want a duration (24h) or an RFC 3339 time", *since)
		}
	}
	var resp hqserver.HitsResponse
	if err := f.query(ctx, env, protocol.PathHits+"?"+hqserver.HitFilterQuery(hf), &resp, func(srv *hqserver.Server) (err error) {
		resp.Records, err = srv.Hits(ctx, hf)
		return err
	}); err != nil {
		return err
	}
	if f.asJSON {
		if resp.Records == nil {
			resp.Records = []hqserver.Record{}
		}
		return printJSON(env.Stdout, resp)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tPOST\tKIND\tID\tSUMMARY")
	for _, r := range resp.Records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ReceivedAt.UTC().Format(time.RFC3339), r.Post, r.Kind, r.ID, summary(r))
	}
	return tw.Flush()
}

// summary is one line about a record: what matched, or what was decided.
func summary(r hqserver.Record) string {
	if r.Invalid != "" {
		return "INVALID: " + r.Invalid
	}
	switch r.Kind {
	case "hit":
		var h protocol.HitReport
		if json.Unmarshal(r.Payload, &h) != nil {
			return ""
		}
		parts := make([]string, 0, len(h.Hits))
		for _, x := range h.Hits {
			parts = append(parts, fmt.Sprintf("%s:%s %.2f", x.List, x.EntryID, x.Score))
		}
		line := fmt.Sprintf("%q screened %s: %s", h.Traveller.FullName(), h.ScreenedAt.UTC().Format(time.RFC3339), strings.Join(parts, ", "))
		for i, d := range r.Decisions {
			sep := "; then "
			if i == 0 {
				sep = "; decided "
			}
			line += fmt.Sprintf("%s%s by %s at %s", sep, d.Decision, d.Officer, d.DecidedAt.UTC().Format(time.RFC3339))
		}
		if len(r.Decisions) == 0 {
			line += "; open"
		}
		return line
	case "disposition":
		var d protocol.DispositionReport
		if json.Unmarshal(r.Payload, &d) != nil {
			return ""
		}
		return fmt.Sprintf("%s on hit %s by %s", d.Decision, d.HitID, d.Officer)
	}
	return fmt.Sprintf("%d bytes", len(r.Payload))
}

// runAudit is `watchpost-hq audit verify --post P`: HQ's check of a
// post's audit chain, from its copy, printing the first bad entry.
func runAudit(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit", "verify --post P (--hq URL [--token-file FILE --ca FILE] | --data-dir DIR) [--json]")
	f := addQueryFlags(fs)
	post := fs.String("post", "", "the post whose chain to check (required)")
	pos, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1 || pos[0] != "verify":
		return usagef("audit takes one subcommand: verify")
	case protocol.ValidatePostID(*post) != nil:
		return usagef("--post must name a post")
	}
	var rep hqserver.AuditReport
	if err := f.query(ctx, env, protocol.PathAudit+"?post="+url.QueryEscape(*post), &rep, func(srv *hqserver.Server) (err error) {
		rep, err = srv.VerifyAudit(ctx, *post)
		return err
	}); err != nil {
		return err
	}
	if f.asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "post         %s\n", rep.Post)
		fmt.Fprintf(env.Stdout, "audit key    %s (pinned at enrolment)\n", dash(rep.Key))
		if rep.State.OtherKey != "" {
			fmt.Fprintf(env.Stdout, "OTHER KEY    %s presented since\n", rep.State.OtherKey)
		}
		fmt.Fprintf(env.Stdout, "chain        %d entries held (head %d), verified to %d, %d checkpoints, %d batches waiting\n",
			rep.Entries, rep.Head, rep.State.Verified, rep.Checkpoints, rep.State.Waiting)
		if rep.State.Fault != nil {
			fmt.Fprintf(env.Stdout, "FIRST BAD    %s (found on receipt; %d faults)\n", rep.State.Fault.Error(), rep.State.Faults)
		}
		for i, fl := range rep.Faults {
			label := "also"
			if i == 0 {
				label = "bad now"
			}
			fmt.Fprintf(env.Stdout, "%-12s %s\n", label, fl.Error())
		}
		if rep.State.Fault == nil && len(rep.Faults) == 0 {
			fmt.Fprintln(env.Stdout, "result       ok")
		}
	}
	first := rep.State.Fault
	if first == nil && len(rep.Faults) > 0 {
		first = rep.Faults[0]
	}
	if first != nil {
		return fmt.Errorf("audit chain of %s does not verify: first bad entry %d (%s)", rep.Post, first.Seq, first.Kind)
	}
	return nil
}
