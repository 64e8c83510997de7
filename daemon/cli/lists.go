package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
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
	fs := newFlags(env, "import", "--list NAME --format FORMAT [--action TEXT] [--data-dir DIR] [--store-key-file FILE] PATH")
	sf := addStoreFlags(fs)
	list := fs.String("list", "", "list name, e.g. un, ofac, national, sltd (required)")
	format := fs.String("format", "", "input format: "+strings.Join(importer.Formats(), ", ")+" (required)")
	action := fs.String("action", "", "what an officer does on a hit of this list, e.g. \"refer to secondary\"")
	source := fs.String("source", "", "where the edition came from (default: PATH)")
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
	}
	st, err := sf.open(env)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	info, err := daemon.ImportList(ctx, st, badgerstore.ListMeta{Name: *list, Source: *source, Format: *format, Action: *action}, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported %s version %d: %d entries, hash %s, in %s\n",
		info.Name, info.Version, info.Entries, info.Hash[:16], time.Since(start).Round(time.Millisecond))
	return nil
}

func runLists(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "lists", "[--json] [--data-dir DIR] [--store-key-file FILE]")
	sf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("lists takes no arguments")
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
