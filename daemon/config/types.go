package config

import (
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
)

// Config is a post's configuration: the YAML file, then WATCHPOST_*
// environment variables, then defaults (see the package doc). Durations
// are Go duration strings ("90s", "6h"); sizes are bytes or "64MiB".
type Config struct {
	// PostID identifies the post: its MQTT client id suffix, its topics and
	// its certificate CN ([a-z0-9-], at most 48). Required.
	PostID string `yaml:"post_id"`
	// DataDir holds the Badger store, snapshots in download and the boot
	// counter (paths.DataDir() when empty).
	DataDir string `yaml:"data_dir"`

	Store     Store     `yaml:"store"`
	HQ        HQ        `yaml:"hq"`
	Lists     []string  `yaml:"lists"`
	Screening Screening `yaml:"screening"`
	API       API       `yaml:"api"`
	Intake    Intake    `yaml:"intake"`
	Outbox    Outbox    `yaml:"outbox"`
	Import    Import    `yaml:"import"`
	Log       Log       `yaml:"log"`
	// StatusInterval is how often the post publishes its status record.
	StatusInterval Duration `yaml:"status_interval"`
	// StopTimeout bounds the graceful stop (stop intake, flush the outbox,
	// close the store); it must fit the service manager's budget.
	StopTimeout Duration `yaml:"stop_timeout"`

	// file is the configuration file read ("" for none); where records
	// the source of each key for Sources and `watchpost config show`.
	file  string
	where map[string]Source
}

// HQ is the link to headquarters.
type HQ struct {
	// Brokers are MQTT URLs tried in order: tls://host:8883 (or tcp:// for
	// a loopback demo). Empty: the post runs offline (screening only).
	Brokers []string `yaml:"brokers"`
	// URL is HQ's HTTPS base for deltas (URL/deltas/...); snapshots come
	// from the URL a signed head names.
	URL string `yaml:"url"`
	// KeysFile is the key set of HQ public keys (PROTOCOL.md §2); Keys may
	// hold the same lines inline. One of them is required when Brokers is
	// set.
	KeysFile string   `yaml:"keys_file"`
	Keys     []string `yaml:"keys"`
	// KeySet is KeysFile and Keys parsed (nil when neither is set); Load
	// fills it.
	KeySet *protocol.KeySet `yaml:"-"`
	// TLS for the broker and the HTTPS fetches: CA to trust, client
	// certificate and key (mTLS).
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Username and PasswordFile, if the broker uses passwords (the
	// password is read from the file or WATCHPOST_HQ_PASSWORD, never
	// written in the YAML).
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	Password     Secret `yaml:"-"`
	// KeepAlive and ConnectTimeout override the MQTT defaults for a 600 ms
	// link.
	KeepAlive      Duration `yaml:"keep_alive"`
	ConnectTimeout Duration `yaml:"connect_timeout"`
}

// The MQTT client's defaults for keep_alive and connect_timeout, tuned
// for a 600 ms round trip: the values of sync/mqtt's DefaultKeepAlive and
// DefaultConnectTimeout (a test checks that they agree), stated here so
// that reading a configuration does not link the MQTT client.
const (
	DefaultKeepAlive      = 90 * time.Second
	DefaultConnectTimeout = 60 * time.Second
)

// Store is the Badger store in the data directory.
type Store struct {
	// EncryptionKeyFile holds the key that encrypts the store at rest
	// (AES-256): one line, 64 hex digits or the base64 of 32 bytes
	// (`watchpost config new-store-key FILE` writes one). The key is read
	// from the file or WATCHPOST_STORE_ENCRYPTION_KEY, never written in
	// the YAML. Empty: the store is not encrypted.
	EncryptionKeyFile string `yaml:"encryption_key_file"`
	// EncryptionKey is the decoded key (StoreKeyLen bytes), or empty;
	// Load fills it.
	EncryptionKey Secret `yaml:"-"`
	// DiskReserve is the free space the store keeps on its file system:
	// below it the store refuses to open and to write (imports, list
	// updates from HQ, screening records), and a running post screens on
	// what it holds and answers that hits are not recorded, until space
	// returns. DefaultDiskReserve when unset.
	DiskReserve Size `yaml:"disk_reserve"`
}

// Key returns the store encryption key as bytes, nil when none is set.
func (s Store) Key() []byte {
	if !s.EncryptionKey.IsSet() {
		return nil
	}
	return []byte(s.EncryptionKey.Reveal())
}

// Screening tunes the matcher.
type Screening struct {
	// MatchThreshold and PossibleThreshold are the score bands (0..1].
	MatchThreshold    float64 `yaml:"match_threshold"`
	PossibleThreshold float64 `yaml:"possible_threshold"`
	// Retention is how long screening records without a hit are kept.
	Retention Duration `yaml:"retention"`
	// HitRetention is how long hit records are kept at the post.
	HitRetention Duration `yaml:"hit_retention"`
}

// API is the local HTTP API.
type API struct {
	// Listen is host:port (127.0.0.1:8640 by default; "" or "off"
	// disables). A non-loopback address requires Tokens.
	Listen string `yaml:"listen"`
	// TokensFile holds one bearer token per line ("name:token", # comments).
	TokensFile string   `yaml:"tokens_file"`
	Tokens     []Secret `yaml:"-"`
	// TokenNames[i] names Tokens[i] (the "name" of "name:token"), for logs
	// and `config show`; names are not secret.
	TokenNames []string `yaml:"-"`
	// ConsoleIdleTimeout ends an officer console session after this long
	// without a request (the console is served at / on this listener).
	ConsoleIdleTimeout Duration `yaml:"console_idle_timeout"`
}

// Intake is the folder where airline or PIU systems drop files.
type Intake struct {
	// Dir is watched when set; done/ and failed/ are made inside it.
	Dir string `yaml:"dir"`
	// Interval between scans; StableFor is how long a file's size must not
	// change before it is taken (files named *.tmp or starting with "."
	// are never taken).
	Interval  Duration `yaml:"interval"`
	StableFor Duration `yaml:"stable_for"`
}

// Outbox bounds the queue of records for HQ.
type Outbox struct {
	Budget Size `yaml:"budget"`
}

// Import bounds `watchpost import`: the shrink guard and the file size.
type Import struct {
	// MaxShrink is the share of a list's entries an edition may remove
	// (0 < share <= 1) before import refuses it without --allow-shrink.
	MaxShrink float64 `yaml:"max_shrink"`
	// MaxFileSize bounds the file imported (each file of an OFAC folder).
	MaxFileSize Size `yaml:"max_file_size"`
}

// Log configures logging.
type Log struct {
	// Level: debug, info, warn, error.
	Level string `yaml:"level"`
	// Format: text or json (stderr in the foreground; the service
	// manager's log when running as a service).
	Format string `yaml:"format"`
}

// Duration is a time.Duration written as a Go duration string.
type Duration time.Duration

// Size is a byte count written as a number or with a unit (KiB, MiB,
// GiB, KB, MB, GB).
type Size int64

// Secret is a string that never prints (String, LogValue, MarshalText
// give "[redacted]").
type Secret string
