package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/sync/protocol"
)

// testKey returns a valid key-set line.
func testKey(seed byte) string {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	return protocol.FormatPublicKey(pub)
}

// writeConfig writes text as watchpost.yaml in a fresh directory, with a
// valid hq-keys.txt beside it, and returns the file's path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hq-keys.txt"), "# HQ\n"+testKey(1)+"\n", 0o644)
	path := filepath.Join(dir, "watchpost.yaml")
	writeFile(t, path, text, 0o644)
	return path
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const minimal = `post_id: gate-north-1
hq:
  brokers: [tls://hq.example.org:8883]
  keys_file: hq-keys.txt
lists: [un]
`

func TestMinimalAndDefaults(t *testing.T) {
	path := writeConfig(t, minimal)
	cfg, err := Load(path, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"post_id", cfg.PostID, "gate-north-1"},
		{"data_dir", cfg.DataDir, paths.DataDirFrom(mapEnv(nil))},
		{"keys_file", cfg.HQ.KeysFile, filepath.Join(filepath.Dir(path), "hq-keys.txt")},
		{"keyset", len(cfg.HQ.KeySet.Keys()), 1},
		{"api.listen", cfg.API.Listen, "127.0.0.1:8640"},
		{"intake.interval", cfg.Intake.Interval.Duration(), 2 * time.Second},
		{"intake.stable_for", cfg.Intake.StableFor.Duration(), 2 * time.Second},
		{"outbox.budget", cfg.Outbox.Budget.Bytes(), int64(64 << 20)},
		{"import.max_shrink", cfg.Import.MaxShrink, 0.10},
		{"import.max_file_size", cfg.Import.MaxFileSize.Bytes(), int64(512 << 20)},
		{"status_interval", cfg.StatusInterval.Duration(), 4 * time.Minute},
		{"stop_timeout", cfg.StopTimeout.Duration(), 15 * time.Second},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "text"},
		{"match", cfg.Screening.MatchThreshold, 0.80},
		{"possible", cfg.Screening.PossibleThreshold, 0.68},
		{"retention", cfg.Screening.Retention.Duration(), 24 * time.Hour},
		{"hit_retention", cfg.Screening.HitRetention.Duration(), 2160 * time.Hour},
		{"keep_alive", cfg.HQ.KeepAlive.Duration(), 90 * time.Second},
		{"connect_timeout", cfg.HQ.ConnectTimeout.Duration(), 60 * time.Second},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := cfg.Source("post_id").String(); got != path+":1" {
		t.Errorf("post_id source %q, want %s:1", got, path)
	}
	if !cfg.Source("api.listen").IsDefault() {
		t.Errorf("api.listen source %v, want default", cfg.Source("api.listen"))
	}
}

func TestExampleConfig(t *testing.T) {
	const example = "../../configs/watchpost.yaml"
	cfg, problems := Check(example, Options{SkipFiles: true})
	if len(problems) != 0 {
		t.Fatalf("example has problems:\n%v", errors.Join(toErrs(problems)...))
	}
	// Every key is written in the example (and so commented there).
	for _, s := range cfg.Settings() {
		if s.Source.IsDefault() && s.Key != "hq.password" && s.Key != "api.tokens" && s.Key != "store.encryption_key" {
			t.Errorf("the example does not set %s", s.Key)
		}
	}
	// With files checked, only the missing key file is a problem.
	_, problems = Check(example, Options{})
	if len(problems) != 1 || problems[0].Key != "hq.keys_file" || !strings.Contains(problems[0].Msg, "hq-keys.txt") {
		t.Errorf("example with files: want only the missing hq-keys.txt, got\n%v", errors.Join(toErrs(problems)...))
	}
	// The minimal configuration in the example's header is the one Load takes.
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "#     post_id: gate-north-1\n#     hq:\n#       brokers: [tls://hq.example.org:8883]\n#       keys_file: hq-keys.txt\n#     lists: [un, national]\n") {
		t.Errorf("the example's minimal configuration changed; update TestExampleConfig and the package example")
	}
}

func toErrs(ps []Problem) []error {
	var errs []error
	for _, p := range ps {
		errs = append(errs, p)
	}
	return errs
}

// wantProblems fails unless problems are exactly as many as want and each
// of want is in one of them; it returns them all as one text.
func wantProblems(t *testing.T, problems []Problem, want []string) string {
	t.Helper()
	all := errors.Join(toErrs(problems)...).Error()
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("missing %q in\n%s", w, all)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(problems), len(want), all)
	}
	return all
}

func TestProblems(t *testing.T) {
	for _, c := range []struct {
		name string
		yaml string
		want string // in the only problem (Error())
		warn bool
	}{
		{"broker not a URL", "post_id: p1\nhq:\n  brokers:\n    - tls://hq:8883\n    - tcp//x\n  keys_file: k\nlists: [un]\n",
			`watchpost.yaml:5: hq.brokers[1]: "tcp//x" is not a URL (want tls://host:port or tcp://host:port)`, false},
		{"broker plain tcp", "post_id: p1\nhq:\n  brokers: [tcp://hq.example.org:1883]\n  keys_file: k\nlists: [un]\n",
			`watchpost.yaml:3: hq.brokers[0]: "tcp://hq.example.org:1883": plain tcp:// to a host other than this machine`, false},
		{"broker loopback tcp ok but no port", "post_id: p1\nhq:\n  brokers: [tcp://127.0.0.1]\n  keys_file: k\nlists: [un]\n",
			`watchpost.yaml:3: hq.brokers[0]: "tcp://127.0.0.1" has no port`, false},
		{"broker scheme", "post_id: p1\nhq:\n  brokers: [wss://hq:443]\n  keys_file: k\nlists: [un]\n",
			`watchpost.yaml:3: hq.brokers[0]: "wss://hq:443": scheme "wss"`, false},
		{"broker as a string", "post_id: p1\nhq:\n  brokers: tls://hq:8883\n  keys_file: k\nlists: [un]\n",
			`watchpost.yaml:3: hq.brokers: want a list`, false},
		{"post id", "post_id: Gate_1\n", `watchpost.yaml:1: post_id: post id "Gate_1": byte 'G' at 0, want [a-z0-9-]`, false},
		{"post id missing", "data_dir: /srv/wp\n", `watchpost.yaml: post_id: required`, false},
		{"unknown key typo", "post_id: p1\nhq:\n  brokrs: [tls://hq:8883]\n",
			`watchpost.yaml:3: hq.brokrs: unknown key "brokrs"; did you mean "brokers"?`, false},
		{"unknown key wrong level", "post_id: p1\nbrokers: [tls://hq:8883]\n",
			`watchpost.yaml:2: brokers: unknown key "brokers"; did you mean hq.brokers ("brokers" under hq:)?`, false},
		{"unknown key far", "post_id: p1\nflux_capacitor: 1\n",
			`watchpost.yaml:2: flux_capacitor: unknown key "flux_capacitor" (configs/watchpost.yaml lists every key)`, false},
		{"password in yaml", "post_id: p1\nhq:\n  password: hunter2\n",
			`watchpost.yaml:3: hq.password: the broker password is never written in this file`, false},
		{"duplicate key", "post_id: p1\npost_id: p2\n", `watchpost.yaml:2: post_id: duplicate key (first set at line 1)`, false},
		{"duration without unit", "post_id: p1\nstop_timeout: 15\n", `watchpost.yaml:2: stop_timeout: "15" has no unit (want e.g. 15s or 15m)`, false},
		{"negative duration", "post_id: p1\nintake:\n  interval: -5s\n", `watchpost.yaml:3: intake.interval: -5s: want a positive duration`, false},
		{"stop timeout too long", "post_id: p1\nstop_timeout: 30s\n", `watchpost.yaml:2: stop_timeout: warning: 30s is longer than the 20s Windows gives`, true},
		{"size ambiguous", "post_id: p1\noutbox:\n  budget: 64M\n", `watchpost.yaml:3: outbox.budget: "64M": unit "M" is ambiguous (want 64MiB or 64MB)`, false},
		{"size zero", "post_id: p1\noutbox:\n  budget: 0\n", `watchpost.yaml:3: outbox.budget: 0: want a positive size`, false},
		{"shrink share", "post_id: p1\nimport:\n  max_shrink: 1.5\n", `watchpost.yaml:3: import.max_shrink: 1.5: want a share above 0 and at most 1`, false},
		{"threshold range", "post_id: p1\nscreening:\n  match_threshold: 1.5\n", `watchpost.yaml:3: screening.match_threshold: 1.5 is out of range`, false},
		{"threshold order", "post_id: p1\nscreening:\n  possible_threshold: 0.9\n", `watchpost.yaml:3: screening.possible_threshold: 0.9 is not below screening.match_threshold 0.8`, false},
		{"threshold not a number", "post_id: p1\nscreening:\n  possible_threshold: high\n", `watchpost.yaml:3: screening.possible_threshold: "high" is not a number`, false},
		{"api on the network without tokens", "post_id: p1\napi:\n  listen: 0.0.0.0:8640\n", `watchpost.yaml:3: api.listen: "0.0.0.0:8640" is not a loopback address, and no API tokens are set: Watchpost refuses`, false},
		{"api all interfaces", "post_id: p1\napi:\n  listen: :8640\n", `watchpost.yaml:3: api.listen: ":8640" is not a loopback address`, false},
		{"api listen garbage", "post_id: p1\napi:\n  listen: localhost\n", `watchpost.yaml:3: api.listen: "localhost" is not host:port`, false},
		{"intake relative", "post_id: p1\nintake:\n  dir: inbox\n", `watchpost.yaml:3: intake.dir: "inbox" is not an absolute path`, false},
		{"data dir relative", "post_id: p1\ndata_dir: data\n", `watchpost.yaml:2: data_dir: "data" is not an absolute path`, false},
		{"log level", "post_id: p1\nlog:\n  level: verbose\n", `watchpost.yaml:3: log.level: "verbose": want debug, info, warn or error`, false},
		{"log format", "post_id: p1\nlog:\n  format: xml\n", `watchpost.yaml:3: log.format: "xml": want text or json`, false},
		{"list name", "post_id: p1\nlists:\n  - un\n  - OFAC\n", `watchpost.yaml:4: lists[1]: list name "OFAC"`, false},
		{"list duplicate", "post_id: p1\nlists: [un, un]\n", `watchpost.yaml:2: lists[1]: "un" is already lists[0]`, false},
		{"brokers without lists", "post_id: p1\nhq:\n  brokers: [tls://hq:8883]\n  keys_file: k\n", `watchpost.yaml:3: lists: hq.brokers is set but lists is empty`, false},
		{"brokers without keys", "post_id: p1\nhq:\n  brokers: [tls://hq:8883]\nlists: [un]\n", `watchpost.yaml:3: hq.keys_file: required when hq.brokers is set`, false},
		{"inline key", "post_id: p1\nhq:\n  keys:\n    - ed25519:AAAA\n", `watchpost.yaml:4: hq.keys[0]: `, false},
		{"cert without key", "post_id: p1\nhq:\n  cert_file: post.crt\n", `watchpost.yaml:3: hq.key_file: hq.cert_file is set but hq.key_file is not`, false},
		{"key without cert", "post_id: p1\nhq:\n  key_file: post.key\n", `watchpost.yaml:3: hq.cert_file: hq.key_file is set but hq.cert_file is not`, false},
		{"hq url http", "post_id: p1\nhq:\n  url: http://hq.example.org/wp\n", `watchpost.yaml:3: hq.url: "http://hq.example.org/wp": plain http`, false},
		{"hq url not a url", "post_id: p1\nhq:\n  url: hq.example.org\n", `watchpost.yaml:3: hq.url: "hq.example.org" is not an HTTPS URL`, false},
		{"section not a mapping", "post_id: p1\nhq: tls://hq:8883\n", `watchpost.yaml:2: hq: want a mapping (keys indented under hq:)`, false},
		{"scalar given a list", "post_id: [p1]\n", `watchpost.yaml:1: post_id: want a single value, got a list`, false},
		{"syntax", "post_id: p1\nhq:\n  brokers: [tls://hq:8883\n", `watchpost.yaml:`, false},
		{"tabs", "post_id: p1\nhq:\n\tbrokers: []\n", `(indent with spaces, not tabs)`, false},
		{"not a mapping", "- a\n- b\n", `watchpost.yaml:1: want a mapping of keys`, false},
		{"two documents", "post_id: p1\n---\npost_id: p2\n", `watchpost.yaml:2: a second YAML document`, false},
		{"hit retention shorter", "post_id: p1\nscreening:\n  hit_retention: 1h\n", `watchpost.yaml:3: screening.hit_retention: warning: 1h is shorter than screening.retention 24h`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "watchpost.yaml")
			writeFile(t, path, c.yaml, 0o644)
			_, problems := Check(path, Options{SkipFiles: true})
			if len(problems) != 1 {
				t.Fatalf("want 1 problem, got %d:\n%v", len(problems), errors.Join(toErrs(problems)...))
			}
			p := problems[0]
			if got := p.Error(); !strings.Contains(got, c.want) {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if p.Warning != c.warn {
				t.Errorf("warning = %v, want %v", p.Warning, c.warn)
			}
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	path := writeConfig(t, "post_id: BAD\nhq:\n  brokers: [tcp//x, tls://hq:8883]\n  kees_file: k\nlists: [un]\nstop_timeout: 10\n")
	_, problems := Check(path, Options{})
	want := []string{
		":1: post_id:",
		`:3: hq.brokers[0]: "tcp//x" is not a URL`,
		`:4: hq.kees_file: unknown key "kees_file"; did you mean "keys_file"?`,
		`:6: stop_timeout: "10" has no unit`,
		`:3: hq.keys_file: required when hq.brokers is set`,
	}
	all := wantProblems(t, problems, want)
	// In file order.
	for i := 1; i < len(problems); i++ {
		if problems[i].Line < problems[i-1].Line {
			t.Errorf("problems out of line order:\n%s", all)
		}
	}
	_, err := Load(path, nil)
	var p Problem
	if err == nil || !errors.As(err, &p) || strings.Count(err.Error(), "\n") != len(want)-1 {
		t.Errorf("Load: want every problem joined, got %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	path := writeConfig(t, minimal+"api:\n  listen: 127.0.0.1:9000\noutbox:\n  budget: 10MiB\n")
	env := map[string]string{
		"WATCHPOST_POST_ID":             "gate-south-2",
		"WATCHPOST_HQ_BROKERS":          "tls://a.example.org:8883, tls://b.example.org:8883,",
		"WATCHPOST_API_LISTEN":          "[::1]:9100",
		"WATCHPOST_OUTBOX_BUDGET":       "1GiB",
		"WATCHPOST_LISTS":               "un,national",
		"WATCHPOST_STOP_TIMEOUT":        "12s",
		"WATCHPOST_DATA_DIR":            "/srv/watchpost",
		"WATCHPOST_SCREENING_RETENTION": "", // empty: unset
	}
	cfg, err := Load(path, mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PostID != "gate-south-2" || cfg.API.Listen != "[::1]:9100" || cfg.Outbox.Budget != GiB || cfg.StopTimeout.Duration() != 12*time.Second || cfg.DataDir != "/srv/watchpost" {
		t.Errorf("env not applied: %+v", cfg)
	}
	if got := fmt.Sprint(cfg.HQ.Brokers); got != "[tls://a.example.org:8883 tls://b.example.org:8883]" {
		t.Errorf("brokers %s", got)
	}
	if got := fmt.Sprint(cfg.Lists); got != "[un national]" {
		t.Errorf("lists %s", got)
	}
	for key, want := range map[string]string{
		"api.listen":          "env WATCHPOST_API_LISTEN",
		"outbox.budget":       "env WATCHPOST_OUTBOX_BUDGET",
		"hq.keys_file":        path + ":4",
		"screening.retention": "default",
		"log.level":           "default",
	} {
		if got := cfg.Source(key).String(); got != want {
			t.Errorf("%s from %q, want %q", key, got, want)
		}
	}

	// Env errors name the variable.
	for name, c := range map[string]struct{ env, want string }{
		"duration": {"WATCHPOST_STOP_TIMEOUT=15", `env WATCHPOST_STOP_TIMEOUT: stop_timeout: "15" has no unit`},
		"broker":   {"WATCHPOST_HQ_BROKERS=tls://ok:8883,tcp//x", `env WATCHPOST_HQ_BROKERS: hq.brokers[1]: "tcp//x" is not a URL`},
		"size":     {"WATCHPOST_OUTBOX_BUDGET=lots", `env WATCHPOST_OUTBOX_BUDGET: outbox.budget: "lots" is not a size`},
		"listen":   {"WATCHPOST_API_LISTEN=0.0.0.0:8640", `env WATCHPOST_API_LISTEN: api.listen: "0.0.0.0:8640" is not a loopback address`},
	} {
		k, v, _ := strings.Cut(c.env, "=")
		_, problems := Check(path, Options{Env: mapEnv(map[string]string{k: v})})
		if len(problems) != 1 || !strings.Contains(problems[0].Error(), c.want) || problems[0].Env != k {
			t.Errorf("%s: want one problem %q, got\n%v", name, c.want, errors.Join(toErrs(problems)...))
		}
	}

	// Without a file: defaults and environment only.
	cfg, err = Load("", mapEnv(map[string]string{"WATCHPOST_POST_ID": "p1"}))
	if err != nil || cfg.PostID != "p1" {
		t.Errorf("Load without a file: %v", err)
	}

	// A near-miss variable draws a warning.
	_, problems := Check(path, Options{Environ: []string{"WATCHPOST_HQ_BROKER=tls://x:1", "WATCHPOST_BENCH_1M=1", "PATH=/bin"}})
	if len(problems) != 1 || !problems[0].Warning || !strings.Contains(problems[0].Error(), "env WATCHPOST_HQ_BROKER: warning: not a Watchpost variable (ignored); did you mean WATCHPOST_HQ_BROKERS?") {
		t.Errorf("typo variable: %v", errors.Join(toErrs(problems)...))
	}
}

func TestEnvNames(t *testing.T) {
	seen := map[string]string{}
	for _, k := range Keys() {
		if prev, dup := seen[k.Env]; dup {
			t.Errorf("%s and %s share %s", prev, k.Name, k.Env)
		}
		seen[k.Env] = k.Name
		if !k.Secret && k.Env != EnvName(k.Name) {
			t.Errorf("%s: env %s, want %s", k.Name, k.Env, EnvName(k.Name))
		}
	}
	for env, key := range map[string]string{
		"WATCHPOST_POST_ID": "post_id", "WATCHPOST_HQ_BROKERS": "hq.brokers", "WATCHPOST_API_LISTEN": "api.listen",
		"WATCHPOST_OUTBOX_BUDGET": "outbox.budget", "WATCHPOST_HQ_PASSWORD": "hq.password", "WATCHPOST_API_TOKENS": "api.tokens",
		paths.EnvDataDir: "data_dir", "WATCHPOST_INTAKE_STABLE_FOR": "intake.stable_for",
	} {
		if seen[env] != key {
			t.Errorf("%s sets %q, want %q", env, seen[env], key)
		}
	}
	if _, ok := seen[paths.EnvConfig]; ok {
		t.Errorf("%s must not be a key's variable", paths.EnvConfig)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const pw = "hunter2-pw-SECRET"
	const tok = "tok-SECRET-0123456789abcdef"
	path := writeConfig(t, strings.Replace(minimal, "lists: [un]\n", "", 1)+"  username: post\n  password_file: hq.password\nlists: [un]\napi:\n  listen: 0.0.0.0:8640\n  tokens_file: tokens.txt\n")
	dir := filepath.Dir(path)
	writeFile(t, filepath.Join(dir, "hq.password"), pw+"\n", 0o600)
	writeFile(t, filepath.Join(dir, "tokens.txt"), "# clients\nops:"+tok+"\n", 0o600)

	cfg, problems := Check(path, Options{})
	if len(problems) != 0 {
		t.Fatalf("problems: %v", errors.Join(toErrs(problems)...))
	}
	if cfg.HQ.Password.Reveal() != pw || len(cfg.API.Tokens) != 1 || cfg.API.Tokens[0].Reveal() != tok || cfg.API.TokenNames[0] != "ops" {
		t.Fatalf("secrets not loaded")
	}
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(f, cfg), fmt.Sprintf(f, *cfg), fmt.Sprintf(f, cfg.HQ.Password), fmt.Sprintf(f, cfg.API.Tokens))
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "config", cfg, "password", cfg.HQ.Password, "tokens", cfg.API.Tokens)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "config", cfg, "password", cfg.HQ.Password, "hq", cfg.HQ)
	out = append(out, logs.String())
	for _, s := range cfg.Settings() {
		out = append(out, s.Value, s.Source.String())
	}
	all := strings.Join(out, "\n")
	for _, secret := range []string{pw, tok, "SECRET", fmt.Sprintf("%x", pw), fmt.Sprintf("%x", tok)} {
		if strings.Contains(all, secret) {
			t.Fatalf("a secret leaked:\n%s", all)
		}
	}
	if !strings.Contains(all, "[redacted]") {
		t.Errorf("want [redacted] in the output")
	}

	// Problems about secrets do not quote them either.
	writeFile(t, filepath.Join(dir, "tokens.txt"), "ops:SECRETshort\nSECRET-no-colon-at-all\nbad name:SECRET-0123456789abcdef\n", 0o600)
	_, problems = Check(path, Options{Env: mapEnv(map[string]string{"WATCHPOST_HQ_BROKERS": "tls://user:SECRETpw@hq:8883"})})
	all = errors.Join(toErrs(problems)...).Error()
	if strings.Contains(all, "SECRET") {
		t.Errorf("a secret leaked into a problem:\n%s", all)
	}
	if !strings.Contains(all, "tokens.txt:1: api.tokens_file: token \"ops\" is 11 characters; want at least 16") ||
		!strings.Contains(all, "tokens.txt:2: api.tokens_file: want \"name:token\"") ||
		!strings.Contains(all, "tokens.txt:3: api.tokens_file: token name \"bad name\"") ||
		!strings.Contains(all, "credentials in the URL") {
		t.Errorf("problems:\n%s", all)
	}
}

func TestSecretFiles(t *testing.T) {
	path := writeConfig(t, "post_id: p1\nhq:\n  username: post\n  password_file: pw\napi:\n  tokens_file: tokens\n")
	dir := filepath.Dir(path)
	writeFile(t, filepath.Join(dir, "pw"), "secret-password\r\n", 0o644)
	writeFile(t, filepath.Join(dir, "tokens"), "a:0123456789abcdef\nb:0123456789abcdef\na:fedcba9876543210\n", 0o600)
	cfg, problems := Check(path, Options{})
	want := []string{`tokens:2: api.tokens_file: token "b" is the same as token "a"`, `tokens:3: api.tokens_file: token name "a" appears twice`}
	if runtime.GOOS != "windows" {
		want = append(want, "hq.password_file: warning: "+filepath.Join(dir, "pw")+" is readable by other users (mode 0644)")
	}
	all := wantProblems(t, problems, want)
	if cfg.HQ.Password.Reveal() != "secret-password" {
		t.Errorf("password not trimmed of its line end")
	}
	if got := cfg.Source("hq.password").String(); got != "file "+filepath.Join(dir, "pw") {
		t.Errorf("password source %q", got)
	}

	// The environment wins over the files.
	cfg, problems = Check(path, Options{Env: mapEnv(map[string]string{EnvHQPassword: "from-env", EnvAPITokens: "x:0123456789abcdefX, y:0123456789abcdefY"})})
	if cfg.HQ.Password.Reveal() != "from-env" || len(cfg.API.Tokens) != 2 || cfg.API.TokenNames[1] != "y" || cfg.Source("api.tokens").Env != EnvAPITokens {
		t.Errorf("env secrets: %v %v", cfg.API.TokenNames, cfg.Source("api.tokens"))
	}
	for _, p := range problems {
		if strings.Contains(p.Key, "tokens") || strings.Contains(p.Key, "password") {
			t.Errorf("env secrets: files should not be read: %v", p)
		}
	}

	// Unreadable and empty files.
	writeFile(t, filepath.Join(dir, "pw"), "\n", 0o600)
	if err := os.Remove(filepath.Join(dir, "tokens")); err != nil {
		t.Fatal(err)
	}
	_, problems = Check(path, Options{})
	all = errors.Join(toErrs(problems)...).Error()
	if !strings.Contains(all, "hq.password_file: "+filepath.Join(dir, "pw")+" is empty") || !strings.Contains(all, "api.tokens_file: cannot read "+filepath.Join(dir, "tokens")) {
		t.Errorf("problems:\n%s", all)
	}
}

func TestKeysFile(t *testing.T) {
	path := writeConfig(t, minimal)
	keys := filepath.Join(filepath.Dir(path), "hq-keys.txt")
	writeFile(t, keys, "# HQ keys\n"+testKey(1)+" not-after=2030-01-01T00:00:00Z\nnot-a-key\n"+testKey(2)+" expires=soon\n", 0o644)
	_, problems := Check(path, Options{})
	if len(problems) != 2 {
		t.Fatalf("want 2 problems, got\n%v", errors.Join(toErrs(problems)...))
	}
	for i, line := range []int{3, 4} {
		p := problems[i]
		if p.File != keys || p.Line != line || p.Key != "hq.keys_file" || strings.Contains(p.Msg, "offset") {
			t.Errorf("problem %d: %v", i, p)
		}
	}
	writeFile(t, keys, "# nothing yet\n", 0o644)
	_, problems = Check(path, Options{})
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "holds no keys") {
		t.Errorf("empty key file: %v", errors.Join(toErrs(problems)...))
	}
	// Inline keys add to the file's.
	writeFile(t, keys, testKey(1)+"\n", 0o644)
	writeFile(t, path, strings.Replace(minimal, "lists:", "  keys: [\""+testKey(2)+"\"]\nlists:", 1), 0o644)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.HQ.KeySet.Keys()); n != 2 {
		t.Errorf("key set has %d keys, want 2", n)
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	cfg, problems := Check(path, Options{})
	if cfg == nil || len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), path+": no such file") {
		t.Errorf("got %v", problems)
	}
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchpost.yaml")
	writeFile(t, path, "# nothing\n", 0o644)
	_, problems := Check(path, Options{})
	if len(problems) != 1 || problems[0].Key != "post_id" {
		t.Errorf("got %v", problems)
	}
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p1"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, filepath.Join(dir, "post.crt"), certPEM, 0o644)
	writeFile(t, filepath.Join(dir, "post.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})), 0o600)
	writeFile(t, filepath.Join(dir, "ca.pem"), certPEM, 0o644)
	writeFile(t, filepath.Join(dir, "bad-ca.pem"), "not pem", 0o644)
	path := filepath.Join(dir, "watchpost.yaml")
	writeFile(t, path, "post_id: p1\nhq:\n  ca_file: ca.pem\n  cert_file: post.crt\n  key_file: post.key\n", 0o644)

	at := func(now time.Time) string {
		_, problems := Check(path, Options{Clock: clocktest.NewAt(now)})
		return errors.Join(toErrs(problems)...).Error()
	}
	if got := at(now); !strings.Contains(got, "hq.cert_file: warning: "+filepath.Join(dir, "post.crt")+" expires on 2026-06-11") {
		t.Errorf("soon: %s", got)
	}
	if got := at(now.Add(30 * 24 * time.Hour)); !strings.Contains(got, "post.crt expired on 2026-06-11") || strings.Contains(got, "warning") {
		t.Errorf("expired: %s", got)
	}
	writeFile(t, path, "post_id: p1\nhq:\n  ca_file: bad-ca.pem\n  cert_file: post.key\n  key_file: post.key\n", 0o644)
	got := at(now)
	if !strings.Contains(got, "watchpost.yaml:3: hq.ca_file: "+filepath.Join(dir, "bad-ca.pem")+" holds no PEM certificate") || !strings.Contains(got, "watchpost.yaml:4: hq.cert_file: ") {
		t.Errorf("bad files: %s", got)
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"90s", 90 * time.Second, ""}, {"1h30m", 90 * time.Minute, ""}, {" 500ms ", 500 * time.Millisecond, ""},
		{"20", 0, "has no unit"}, {"soon", 0, "is not a duration"}, {"", 0, "is not a duration"},
	} {
		var d Duration
		err := d.UnmarshalText([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || d.Duration() != c.want {
			t.Errorf("%q: got %v, %v", c.in, d, err)
		}
	}
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Second: "1m30s", 90 * time.Minute: "1h30m", time.Minute: "1m", 2 * time.Second: "2s", 0: "0s"} {
		if got := Duration(d).String(); got != want {
			t.Errorf("%v: String %q, want %q", time.Duration(d), got, want)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(Duration(d).String())); err != nil || back != Duration(d) {
			t.Errorf("%v does not round-trip", d)
		}
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Size
		err  string
	}{
		{"64MiB", 64 << 20, ""}, {"1GB", 1e9, ""}, {"1048576", 1 << 20, ""}, {"1.5 GiB", 3 << 29, ""}, {"512kib", 512 << 10, ""},
		{"10B", 10, ""}, {"2TiB", 2 << 40, ""},
		{"64M", 0, "ambiguous"}, {"lots", 0, "is not a size"}, {"-1", 0, "is not a size"}, {"5 parsecs", 0, "unknown unit"},
		{"99999999999999999999", 0, "too large"}, {"9000000TiB", 0, "too large"},
	} {
		got, err := ParseSize(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %d, %v; want %d", c.in, got, err, c.want)
		}
		back, err := ParseSize(got.String())
		if err != nil || back != got {
			t.Errorf("%q: String %q does not round-trip", c.in, got.String())
		}
	}
	for s, want := range map[Size]string{64 * MiB: "64MiB", GB: "1GB", 1234: "1234", 0: "0", 3 * GiB / 2: "1536MiB"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int64(s), got, want)
		}
	}
}

func TestRelativePaths(t *testing.T) {
	path := writeConfig(t, minimal)
	_, err := Load(path, mapEnv(map[string]string{"WATCHPOST_HQ_CA_FILE": "sub/ca.pem"}))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(filepath.Dir(path), "sub", "ca.pem")) {
		t.Errorf("relative ca_file from the environment: %v", err)
	}
}

func TestDefault(t *testing.T) {
	t.Setenv(paths.EnvDataDir, "/elsewhere")
	d := Default()
	if d.PostID != "" || d.API.Listen != DefaultAPIListen || d.StopTimeout.Duration() != DefaultStopTimeout || d.DataDir == "/elsewhere" {
		t.Errorf("Default: %+v", d)
	}
	if DefaultStopTimeout >= MaxStopTimeout {
		t.Errorf("the default stop_timeout %s must fit the %s Windows shutdown budget", DefaultStopTimeout, MaxStopTimeout)
	}
}
