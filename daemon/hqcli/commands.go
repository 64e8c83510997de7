package hqcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/usercmd"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/safeurl"
)

func runKeygen(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "keygen", "--dir DIR")
	dir := fs.String("dir", "", "directory for hq.key (private, mode 0600) and hq.pub (required)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *dir == "":
		return usagef("--dir is required")
	case len(pos) > 0:
		return usagef("keygen takes no arguments")
	}
	s, err := publish.Keygen(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "key %s\nprivate key: %s (keep it secret; publish --key reads it)\npublic key:  %s (add its line to each post's trusted keys)\n",
		s.ID(), filepath.Join(*dir, publish.PrivateKeyFile), filepath.Join(*dir, publish.PublicKeyFile))
	return nil
}

// pubFlags are the flags of the commands that publish.
type pubFlags struct {
	dataDir, storeKeyFile, key, broker string
	clientID                           string
	brokerUser, brokerPasswordFile     string
	tlsCA, tlsCert, tlsKey             string
	snapshotDir, snapshotURL           string
	deltaWindow                        int
	maxShrink                          float64
	headValidity, connectTimeout, wait time.Duration
}

func addPubFlags(fs *flag.FlagSet) *pubFlags {
	f := &pubFlags{}
	fs.StringVar(&f.dataDir, "data-dir", "", "HQ data directory: store/, deltas/, snapshots/ (required)")
	storeKeyFlag(fs, &f.storeKeyFile)
	fs.StringVar(&f.key, "key", "", "HQ signing key file written by keygen (required)")
	fs.StringVar(&f.broker, "broker", "", "MQTT broker URL, tls://host:8883 or tcp://host:1883 (required)")
	fs.StringVar(&f.clientID, "client-id", "watchpost-hq", "MQTT client id of HQ's publisher")
	fs.StringVar(&f.brokerUser, "broker-user", "", "HQ's user name at the broker (default $"+EnvBrokerUser+"; the shipped Mosquitto setup's is watchpost-hq)")
	fs.StringVar(&f.brokerPasswordFile, "broker-password-file", "", "file holding HQ's broker password (default $"+EnvBrokerPassword+"); never logged")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA certificate of the broker (PEM; for tls://)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "HQ's client certificate (PEM; for tls://)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "HQ's client certificate key (PEM; for tls://)")
	fs.StringVar(&f.snapshotDir, "snapshot-dir", "", "where snapshot files are written (default DATA-DIR/snapshots)")
	fs.StringVar(&f.snapshotURL, "snapshot-url", "", "https:// URL under which --snapshot-dir is served; heads name no snapshot without it")
	fs.IntVar(&f.deltaWindow, "delta-window", publish.DefaultDeltaWindow, "how many versions of deltas to keep per list")
	fs.Float64Var(&f.maxShrink, "max-shrink", engine.DefaultMaxShrink, "share of a list's entries an edition may remove before publishing needs a person's confirmation (publish --confirm-shrink, or the console's approver)")
	fs.DurationVar(&f.headValidity, "head-validity", publish.DefaultHeadValidity, "how long a signed head is valid")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 30*time.Second, "how long to wait for the broker")
	return f
}

func (f *pubFlags) check() error {
	switch {
	case f.dataDir == "":
		return usagef("--data-dir is required (or --hq, the URL of a running serve)")
	case f.key == "":
		return usagef("--key is required")
	case f.broker == "":
		return usagef("--broker is required")
	case (f.tlsCA == "") != (f.tlsCert == "") || (f.tlsCA == "") != (f.tlsKey == ""):
		return usagef("--tls-ca, --tls-cert and --tls-key go together")
	}
	return f.checkEditions()
}

// checkEditions checks the flags that shape what is published (snapshot
// URL, delta window, head validity, shrink guard), shared by publish's
// commands and serve.
func (f *pubFlags) checkEditions() error {
	switch {
	case f.snapshotURL != "" && !strings.HasPrefix(f.snapshotURL, "https://"):
		return usagef("--snapshot-url must be https://")
	case f.deltaWindow < 1:
		return usagef("--delta-window must be at least 1")
	case f.headValidity < time.Minute:
		return usagef("--head-validity must be at least a minute")
	case f.maxShrink <= 0 || f.maxShrink > 1:
		return usagef("--max-shrink %v: want a share above 0 and at most 1, e.g. 0.10", f.maxShrink)
	}
	return nil
}

// EnvBrokerUser and EnvBrokerPassword hold HQ's broker account when
// --broker-user and --broker-password-file are not given (a flag wins
// over its variable). EnvBrokerPassword holds the password itself.
const (
	EnvBrokerUser     = "WATCHPOST_HQ_BROKER_USER"
	EnvBrokerPassword = "WATCHPOST_HQ_BROKER_PASSWORD"
)

// link is the external broker the flags name, with HQ's TLS client
// certificate and broker account.
func (f *pubFlags) link() (*daemon.HQLink, error) {
	l := &daemon.HQLink{URL: f.broker, Username: f.brokerUser, Password: os.Getenv(EnvBrokerPassword)}
	if l.Username == "" {
		l.Username = os.Getenv(EnvBrokerUser)
	}
	if f.brokerPasswordFile != "" {
		b, err := os.ReadFile(f.brokerPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("broker password: %w", err)
		}
		if l.Password = strings.TrimRight(string(b), "\r\n"); l.Password == "" {
			return nil, fmt.Errorf("broker password file %s is empty", f.brokerPasswordFile)
		}
	}
	if l.Password != "" && l.Username == "" {
		return nil, usagef("a broker password needs a user name: --broker-user or $%s", EnvBrokerUser)
	}
	if f.tlsCA != "" {
		var err error
		if l.TLS, err = mqtt.TLSConfig(f.tlsCert, f.tlsKey, f.tlsCA); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func logger(env *Env) *slog.Logger {
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// EnvStoreEncryptionKey holds HQ's store encryption key itself (64 hex
// digits or the base64 of 32 bytes), when --store-key-file is not given.
const EnvStoreEncryptionKey = "WATCHPOST_HQ_STORE_ENCRYPTION_KEY"

// storeKeyFlag adds --store-key-file to a command that opens HQ's store.
func storeKeyFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "store-key-file", "", "file holding the key HQ's store is encrypted with at rest (AES-256: 64 hex digits or base64 of 32 bytes; "+
		"watchpost config new-store-key FILE makes one); default $"+EnvStoreEncryptionKey+"; none: the store is not encrypted")
}

// storeKey returns the key of HQ's store: the file named, else
// WATCHPOST_HQ_STORE_ENCRYPTION_KEY, else nil (not encrypted).
func storeKey(env *Env, file string) ([]byte, error) {
	if file == "" {
		v := os.Getenv(EnvStoreEncryptionKey)
		if v == "" {
			return nil, nil
		}
		key, err := config.ParseStoreKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvStoreEncryptionKey, err)
		}
		return key, nil
	}
	key, warn, err := config.ReadStoreKeyFile(file)
	if warn != "" {
		fmt.Fprintln(env.Stderr, "warning: "+warn)
	}
	return key, err
}

// openHQ opens HQ's store in dataDir, with the key from keyFile or the
// environment (storeKey), through daemon.HQ's one wiring; with a config
// that names a broker and a signer, it also connects (waiting up to the
// connect timeout) and has the publisher. The caller closes it.
func openHQ(ctx context.Context, env *Env, cfg daemon.HQConfig, keyFile string) (*daemon.HQ, error) {
	key, err := storeKey(env, keyFile)
	if err != nil {
		return nil, err
	}
	cfg.StoreKey = key
	if cfg.Logger == nil {
		cfg.Logger = logger(env)
	}
	h, err := daemon.NewHQ(cfg)
	if err != nil {
		return nil, err
	}
	if err := h.Open(ctx); err != nil {
		return nil, storeError(err)
	}
	if cfg.Link != nil {
		if err := h.WaitConnected(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("broker %s: %w", safeurl.String(cfg.Link.URL), err), h.Close())
		}
	}
	return h, nil
}

// storeError says where an invalid broker option or a wrong store key
// comes from.
func storeError(err error) error {
	switch {
	case errors.Is(err, mqtt.ErrInvalidOptions):
		return cmdline.UsageError{Err: err}
	case errors.Is(err, badgerstore.ErrEncryptionKey):
		return fmt.Errorf("%w (the key comes from --store-key-file or %s)", err, EnvStoreEncryptionKey)
	}
	return err
}

// open loads the signing key, opens HQ's store and connects to the
// broker: the publishing commands without --hq.
func open(ctx context.Context, env *Env, f *pubFlags) (*daemon.HQ, error) {
	signer, err := publish.LoadSigner(f.key)
	if err != nil {
		return nil, err
	}
	link, err := f.link()
	if err != nil {
		return nil, err
	}
	h, err := openHQ(ctx, env, daemon.HQConfig{
		DataDir: f.dataDir, Signer: signer, SnapshotDir: f.snapshotDir, SnapshotURL: f.snapshotURL,
		DeltaWindow: f.deltaWindow, HeadValidity: f.headValidity, MaxShrink: f.maxShrink,
		Link: link, ClientID: f.clientID, ConnectTimeout: f.connectTimeout,
	}, f.storeKeyFile)
	if errors.Is(err, daemon.ErrHQStoreInUse) {
		return nil, fmt.Errorf("serve is running: use --hq https://… (serve's address, with --token-file and --ca as it needs) to go through it (%w)", err)
	}
	return h, err
}

// pubFlagNames are the flags of addPubFlags: they configure the store and
// the broker, which serve has when publish and heads go through it.
var pubFlagNames = []string{"data-dir", "key", "broker", "client-id", "broker-user", "broker-password-file", "tls-ca", "tls-cert", "tls-key",
	"snapshot-dir", "snapshot-url", "delta-window", "head-validity", "connect-timeout", "max-shrink"}

// checkPubOrHQ checks the flags of publish and heads: --hq (through a
// running serve) or the store and broker flags (directly).
func checkPubOrHQ(fs *flag.FlagSet, f *pubFlags, c *hqClient) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.hqURL == "" {
		return f.check()
	}
	var set []string
	fs.Visit(func(fl *flag.Flag) {
		if slices.Contains(pubFlagNames, fl.Name) {
			set = append(set, "--"+fl.Name)
		}
	})
	if len(set) > 0 {
		return usagef("with --hq, serve publishes with its own store, key and broker: drop %s", strings.Join(set, ", "))
	}
	return nil
}

func runPublish(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "publish", "(--hq URL [--token-file FILE --ca FILE] | --data-dir DIR --key FILE --broker URL [--snapshot-dir DIR --snapshot-url URL]) --list NAME --format FORMAT PATH")
	f := addPubFlags(fs)
	var c hqClient
	c.addFlags(fs)
	fs.Lookup("hq").Usage = "publish through a running serve at this URL, e.g. https://hq.example:8443 (instead of --data-dir, --key, --broker)"
	list := fs.String("list", "", "list name, e.g. un, ofac, national (required)")
	format := fs.String("format", "", "input format: "+strings.Join(importer.Formats(), ", ")+" (required; docs-csv publishes a documents list)")
	source := fs.String("source", "", "where the edition came from (default: PATH)")
	action := fs.String("action", "", "what an officer does on a hit, for a list this edition creates")
	confirmShrink := fs.Bool("confirm-shrink", false, "publish an edition that removes more than the shrink guard's share of the list (--max-shrink, serve's with --hq): recorded in HQ's audit trail")
	single := fs.Bool("single-person", false, "publish without a second person's approval (automation): recorded in HQ's audit trail; "+
		"people propose editions in HQ's console, where a second publisher approves them")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkPubOrHQ(fs, f, &c); err != nil {
		return err
	}
	switch {
	case *list == "":
		return usagef("--list is required")
	case *format == "":
		return usagef("--format is required (one of %s)", strings.Join(importer.Formats(), ", "))
	case len(pos) != 1:
		return usagef("want one PATH to publish, got %d", len(pos))
	case !*single:
		return usagef("editions are published by two people: upload it in HQ's console (Editions), where another publisher approves it, " +
			"or pass --single-person to publish alone (automation; HQ's audit trail records it)")
	}
	ed := publish.Edition{List: *list, Source: *source, Format: *format, Action: *action, ConfirmShrink: *confirmShrink}
	start := time.Now()
	var res publish.Result
	if c.hqURL != "" {
		res, err = publishRemote(ctx, &c, ed, pos[0])
	} else {
		res, err = publishLocal(ctx, env, f, ed, pos[0])
	}
	if err != nil {
		return err
	}
	printPublished(env.Stdout, res, time.Since(start))
	return nil
}

// publishLocal publishes with HQ's store opened here (serve stopped).
func publishLocal(ctx context.Context, env *Env, f *pubFlags, ed publish.Edition, path string) (publish.Result, error) {
	s, err := open(ctx, env, f)
	if err != nil {
		return publish.Result{}, err
	}
	if err := daemon.AuditSinglePerson(ctx, s.Store(), nil, usercmd.Actor(), ed.List); err != nil {
		return publish.Result{}, errors.Join(fmt.Errorf("record the single-person publication: %w", err), s.Close())
	}
	ed.ShrinkConfirmed = func(ctx context.Context, sh engine.Shrink) error {
		return daemon.AuditShrink(ctx, s.Store(), nil, usercmd.Actor(), sh)
	}
	res, err := s.Publisher().PublishEdition(ctx, ed, path)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// printPublished prints what a publication did (the same line in both
// modes).
func printPublished(w io.Writer, res publish.Result, took time.Duration) {
	took = took.Round(time.Millisecond)
	hash := res.Hash
	if len(hash) > 16 {
		hash = hash[:16]
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(w, "%s: the edition equals version %d (%d entries); nothing published\n", res.List, res.Version, res.Entries)
	case res.Created:
		fmt.Fprintf(w, "%s: published version %d (epoch %d): %d entries, hash %s; snapshot %s (%d bytes), head %d bytes, in %s\n",
			res.List, res.Version, res.Epoch, res.Entries, hash, res.SnapshotFile, res.SnapshotBytes, res.HeadBytes, took)
	default:
		delta := fmt.Sprintf("delta %d bytes", res.DeltaBytes)
		if res.NoDelta != "" {
			delta = "no delta (" + res.NoDelta + ")"
		}
		fmt.Fprintf(w, "%s: published version %d (epoch %d): %d upserts, %d deletes, %d entries, hash %s; %s; snapshot %s (%d bytes), head %d bytes, in %s\n",
			res.List, res.Version, res.Epoch, res.Upserts, res.Deletes, res.Entries, hash, delta, res.SnapshotFile, res.SnapshotBytes, res.HeadBytes, took)
	}
}

func runHeads(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "heads", "(--hq URL [--token-file FILE --ca FILE] | --data-dir DIR --key FILE --broker URL [--snapshot-dir DIR --snapshot-url URL])")
	f := addPubFlags(fs)
	var c hqClient
	c.addFlags(fs)
	fs.Lookup("hq").Usage = "re-sign through a running serve at this URL, e.g. https://hq.example:8443 (instead of --data-dir, --key, --broker)"
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkPubOrHQ(fs, f, &c); err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("heads takes no arguments")
	}
	var res []publish.HeadResult
	if c.hqURL != "" {
		var resp hqserver.HeadsResponse
		err = c.do(ctx, http.MethodPost, protocol.PathHeads, http.NoBody, 0, &resp)
		res = resp.Results()
	} else {
		var s *daemon.HQ
		if s, err = open(ctx, env, f); err != nil {
			return err
		}
		res, err = s.Publisher().RepublishHeads(ctx)
		err = errors.Join(err, s.Close())
	}
	for _, r := range res {
		note := ""
		if r.Announced {
			note = " (version announced now: its publish had not finished)"
		}
		fmt.Fprintf(env.Stdout, "%s: head %d/%d issued %s, valid until %s%s\n", r.List, r.Epoch, r.Version,
			r.IssuedAt.Format(time.RFC3339), r.ValidUntil.Format(time.RFC3339), note)
	}
	return err
}

func runLists(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "lists", "(--hq URL [--token-file FILE --ca FILE] | --data-dir DIR [--store-key-file FILE]) [--json]")
	f := addQueryFlags(fs)
	pos, err := f.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("lists takes no arguments")
	}
	var resp hqserver.ListsResponse
	if err := f.query(ctx, env, protocol.PathListsIndex, &resp, func(srv *hqserver.Server) (err error) {
		resp.Lists, err = srv.Lists()
		return err
	}); err != nil {
		return err
	}
	if f.asJSON {
		if resp.Lists == nil {
			resp.Lists = []hqserver.List{}
		}
		return printJSON(env.Stdout, resp.Lists)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEPOCH\tVERSION\tENTRIES\tHASH\tHEAD ISSUED AT\tSNAPSHOT\tSTATE")
	for _, l := range resp.Lists {
		state, issued := "published", ""
		switch {
		case l.Error != "":
			state = "not HQ's: " + l.Error
		case l.Pending():
			state = fmt.Sprintf("pending: published %d, run heads", l.Published)
		}
		if !l.HeadIssuedAt.IsZero() {
			issued = l.HeadIssuedAt.UTC().Format(time.RFC3339)
		}
		hash := l.Hash
		if len(hash) > 16 {
			hash = hash[:16]
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", l.Name, l.Epoch, l.Version, l.Entries, hash, issued, l.Snapshot, state)
	}
	return tw.Flush()
}
