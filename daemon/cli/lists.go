package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/daemon/usercmd"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/sync/outbox"
)

func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", paths.DataDir(), "data directory (env "+paths.EnvDataDir+")")
}

// storeFlags are the flags of the commands that open the post's store:
// where it is, and the key it is encrypted with.
type storeFlags struct {
	dir, keyFile *string
}

// storeKeyUsage documents --store-key-file in each command's usage.
const storeKeyUsage = "file holding the store encryption key, as store.encryption_key_file in the configuration " +
	"(default: the key in $" + config.EnvStoreEncryptionKey + ", else the file $" + config.EnvStoreEncryptionKey + "_FILE names; " +
	"none: the store is not encrypted)"

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{dir: dataDirFlag(fs), keyFile: fs.String("store-key-file", "", storeKeyUsage)}
}

// key returns the store encryption key: --store-key-file, else
// WATCHPOST_STORE_ENCRYPTION_KEY, else the file
// WATCHPOST_STORE_ENCRYPTION_KEY_FILE names (the variables of the
// configuration's keys), else nil (no encryption).
func (f storeFlags) key(env *Env) ([]byte, error) {
	file := *f.keyFile
	if file == "" {
		if v := os.Getenv(config.EnvStoreEncryptionKey); v != "" {
			key, err := config.ParseStoreKey(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", config.EnvStoreEncryptionKey, err)
			}
			return key, nil
		}
		file = os.Getenv(config.EnvName("store.encryption_key_file"))
	}
	if file == "" {
		return nil, nil
	}
	key, warn, err := config.ReadStoreKeyFile(file)
	if warn != "" {
		fmt.Fprintln(env.Stderr, "warning: "+warn)
	}
	return key, err
}

// open opens the store with its key.
func (f storeFlags) open(env *Env) (*badgerstore.Store, error) {
	key, err := f.key(env)
	if err != nil {
		return nil, err
	}
	return openStore(env, *f.dir, key)
}

// openStore opens the store in dir with key, keeping the disk reserve
// $WATCHPOST_STORE_DISK_RESERVE (the variable of store.disk_reserve) or
// the default.
func openStore(env *Env, dir string, key []byte) (*badgerstore.Store, error) {
	o := daemon.StoreOptions{Key: key, Logger: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if v := os.Getenv(config.EnvName("store.disk_reserve")); v != "" {
		size, err := config.ParseSize(v)
		if err != nil || size <= 0 {
			return nil, fmt.Errorf("%s: want a positive size such as %s", config.EnvName("store.disk_reserve"), config.DefaultDiskReserve)
		}
		o.DiskReserve = size.Bytes()
	}
	return daemon.OpenStoreWith(dir, o)
}

func runImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "--list NAME --format FORMAT [--action TEXT] [--allow-shrink] [--max-shrink SHARE] [--data-dir DIR] [--store-key-file FILE] PATH")
	sf := addStoreFlags(fs)
	list := fs.String("list", "", "list name, e.g. un, ofac, national, sltd (required)")
	format := fs.String("format", "", "input format: "+strings.Join(importer.Formats(), ", ")+" (required)")
	action := fs.String("action", "", "what an officer does on a hit of this list, e.g. \"refer to secondary\"")
	source := fs.String("source", "", "where the edition came from (default: PATH)")
	configPath := fs.String("config", paths.DefaultConfigFile(), "configuration file for import.max_shrink and import.max_file_size, if it exists (env "+paths.EnvConfig+")")
	allowShrink := fs.Bool("allow-shrink", false, "import an edition that empties the list or removes more than the shrink guard's share of it (recorded in the audit trail)")
	maxShrink := fs.Float64("max-shrink", 0, "share of the list's entries an edition may remove without --allow-shrink (default: import.max_shrink, 0.10)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *list == "":
		return usagef("--list is required")
	case *format == "":
		return usagef("--format is required (one of %s)", strings.Join(importer.Formats(), ", "))
	case len(pos) != 1:
		return usagef("want one PATH to import, got %d", len(pos))
	case *maxShrink < 0 || *maxShrink > 1:
		return usagef("--max-shrink %v: want a share between 0 and 1, e.g. 0.10", *maxShrink)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	settings, postID, err := importSettings(*configPath, explicit)
	if err != nil {
		return err
	}
	if *maxShrink > 0 {
		settings.MaxShrink = *maxShrink
	}
	st, err := sf.open(env)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := daemon.ImportOptions{MaxShrink: settings.MaxShrink, AllowShrink: *allowShrink,
		Limits: importer.Limits{MaxFileSize: settings.MaxFileSize.Bytes()}}
	opts.Confirmed = func(ctx context.Context, s engine.Shrink, version uint64) error {
		fmt.Fprintf(env.Stderr, "warning: --allow-shrink: %s; recorded in the audit trail\n", s)
		return auditShrink(ctx, st, postID, s, version)
	}
	start := time.Now()
	info, err := daemon.ImportEdition(ctx, st, badgerstore.ListMeta{Name: *list, Source: *source, Format: *format, Action: *action}, pos[0], opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported %s version %d: %d entries, hash %s, in %s\n",
		info.Name, info.Version, info.Entries, info.Hash[:16], time.Since(start).Round(time.Millisecond))
	return nil
}

// importSettings reads the import section of the configuration at path
// (defaults when path was not given and does not exist) and the post id.
// Only problems with the import keys, or with the file as a whole, stop
// an import: the rest of the configuration is the daemon's to check.
func importSettings(path string, explicit bool) (config.Import, string, error) {
	if _, err := os.Stat(path); !explicit && errors.Is(err, fs.ErrNotExist) {
		path = ""
	}
	cfg, problems := config.Check(path, config.Options{Env: os.Getenv, SkipFiles: true})
	var errs []error
	for _, p := range problems {
		if !p.Warning && (p.Key == "" || strings.HasPrefix(p.Key, "import.")) {
			errs = append(errs, p)
		}
	}
	return cfg.Import, cfg.PostID, errors.Join(errs...)
}

// openLedger opens the ledger in st, with its outbox, for a command run
// while the post is stopped; post names the post in what it records.
func openLedger(ctx context.Context, st *badgerstore.Store, post string) (*ledger.Ledger, error) {
	ob, err := outbox.Open(ctx, st, outbox.Options{})
	if err != nil {
		return nil, err
	}
	return ledger.Open(ctx, st, ob, ledger.Options{Post: post})
}

// auditShrink records a confirmed shrink in the post's audit chain, which
// the post signs and sends to HQ with the rest of it.
func auditShrink(ctx context.Context, st *badgerstore.Store, postID string, s engine.Shrink, version uint64) error {
	if postID == "" {
		postID = "import"
	}
	led, err := openLedger(ctx, st, postID)
	if err != nil {
		return err
	}
	return led.AuditListShrink(ctx, usercmd.Actor(), ledger.ListShrink{List: s.List, Version: version,
		Current: s.Current, Next: s.Next, Removed: s.Removed, Limit: s.Limit})
}

func runLists(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "lists", "[--json] [--data-dir DIR] [--store-key-file FILE]")
	sf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	st, err := sf.open(env)
	if err != nil {
		return err
	}
	defer st.Close()
	lists, err := st.Lists()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(lists)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tENTRIES\tHASH\tIMPORTED AT\tFORMAT\tACTION")
	for _, l := range lists {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", l.Name, l.Kind, l.Version, l.Entries, short(l.Hash), l.ImportedAt.UTC().Format(time.RFC3339), l.Format, l.Action)
	}
	return tw.Flush()
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
