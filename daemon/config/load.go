package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/match"
)

// Defaults. StopTimeout is 15 s so the whole graceful stop fits the
// roughly 20 s Windows gives services at system shutdown
// (WaitToKillServiceTimeout) with room for the process to exit;
// systemd's default TimeoutStopSec is 90 s.
const (
	DefaultAPIListen       = "127.0.0.1:8640"
	DefaultIntakeInterval  = 2 * time.Second
	DefaultIntakeStableFor = 2 * time.Second
	DefaultOutboxBudget    = 64 * MiB
	// DefaultDiskReserve is the store's own default (badgerstore's
	// DefaultDiskReserve: 64 MiB plus Badger's 32 MiB memtable, which a
	// test checks), stated here so that reading a configuration does not
	// link Badger.
	DefaultDiskReserve = 96 * MiB
	// DefaultStatusInterval: a status record (sent live and through the
	// outbox, about 1.9 kB on the wire with two lists) every 4 min, with
	// the keep-alive's pings between them, costs a satellite link about
	// 0.85 MB a day idle, under the 1 MB budget (60 s cost 2.8 MB); it
	// stays under the 5 min after which HQ's console shows a silent post
	// offline.
	DefaultStatusInterval = 4 * time.Minute
	DefaultStopTimeout    = 15 * time.Second
	DefaultConsoleIdle    = 15 * time.Minute
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "text"
	// The thresholds are the matcher's own defaults, so the two cannot
	// disagree.
	DefaultMatchThreshold    = match.DefaultMatchThreshold
	DefaultPossibleThreshold = match.DefaultPossibleThreshold
	DefaultRetention         = 24 * time.Hour
	DefaultHitRetention      = 90 * 24 * time.Hour

	// MaxStopTimeout is the stop_timeout above which Check warns: the
	// classic Windows shutdown budget for services.
	MaxStopTimeout = 20 * time.Second
)

// Default returns the configuration with every default set and nothing
// from a file or the environment (post_id is empty, so it does not pass
// Check on its own).
func Default() *Config {
	return defaults(func(k string) string {
		if k == paths.EnvDataDir {
			return ""
		}
		return os.Getenv(k)
	})
}

func defaults(getenv func(string) string) *Config {
	return &Config{
		DataDir: paths.DataDirFrom(func(k string) string {
			if k == paths.EnvDataDir { // an override, not a default: the env layer sets it
				return ""
			}
			return getenv(k)
		}),
		Lists: []string{},
		HQ: HQ{
			KeepAlive:      Duration(DefaultKeepAlive),
			ConnectTimeout: Duration(DefaultConnectTimeout),
		},
		Screening: Screening{
			MatchThreshold:    DefaultMatchThreshold,
			PossibleThreshold: DefaultPossibleThreshold,
			Retention:         Duration(DefaultRetention),
			HitRetention:      Duration(DefaultHitRetention),
		},
		API:            API{Listen: DefaultAPIListen, ConsoleIdleTimeout: Duration(DefaultConsoleIdle)},
		Intake:         Intake{Interval: Duration(DefaultIntakeInterval), StableFor: Duration(DefaultIntakeStableFor)},
		Outbox:         Outbox{Budget: DefaultOutboxBudget},
		Import:         Import{MaxShrink: engine.DefaultMaxShrink, MaxFileSize: importer.DefaultMaxFileSize},
		Store:          Store{DiskReserve: DefaultDiskReserve},
		Log:            Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		StatusInterval: Duration(DefaultStatusInterval),
		StopTimeout:    Duration(DefaultStopTimeout),
		where:          map[string]Source{},
	}
}

// Options tune Check and Parse.
type Options struct {
	// Env reads an environment variable (os.Getenv in the daemon); nil
	// reads none. An empty value counts as unset.
	Env func(string) string
	// Environ is the whole environment as KEY=VALUE (os.Environ()). When
	// set, a WATCHPOST_* variable that is not a key's but is close to one
	// draws a warning ("did you mean").
	Environ []string
	// SkipFiles checks the configuration without opening the files it
	// names (key set, TLS, password, tokens): for a configuration written
	// for another machine, or the annotated example.
	SkipFiles bool
	// Clock is the clock for certificate expiry; clock.System when nil.
	Clock clock.Clock
}

// Problem is one thing wrong with a configuration. It is an error.
type Problem struct {
	// File and Line locate the value: the configuration file, or a file it
	// names (a key set, a tokens file). Line is 0 when the key is absent or
	// the problem is with a whole file.
	File string
	Line int
	// Env is the environment variable the value came from, if it did.
	Env string
	// Key is the key path, with list indices ("hq.brokers[1]").
	Key string
	Msg string
	// Warning problems do not stop the daemon; the others do.
	Warning bool
}

// Error formats the problem as "FILE:LINE: KEY: MSG", "env VAR: KEY:
// MSG" or "KEY: MSG", with "warning: " before MSG for a warning.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Env != "":
		fmt.Fprintf(&b, "env %s: ", p.Env)
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		fmt.Fprintf(&b, "%s: ", p.File)
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors returns the problems that are not warnings, joined (nil when
// there are none).
func Errors(problems []Problem) error {
	var errs []error
	for _, p := range problems {
		if !p.Warning {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}

// Load reads the configuration file at path ("" for none: defaults and
// environment only), applies the environment read through env (nil for
// none), reads the secrets and key set, and checks everything. The error
// joins every problem (each a Problem); warnings do not make it fail, use
// Check to see them.
func Load(path string, env func(string) string) (*Config, error) {
	cfg, problems := Check(path, Options{Env: env})
	if err := Errors(problems); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Check is Load returning every problem, warnings included, and the
// configuration as far as it could be read (never nil).
func Check(path string, opts Options) (*Config, []Problem) {
	if path == "" {
		return Parse("", nil, opts)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// Only this problem: the rest would be noise about a file not read.
		env := opts.Env
		if env == nil {
			env = func(string) string { return "" }
		}
		cfg := defaults(env)
		cfg.file = path
		msg := err.Error()
		if errors.Is(err, os.ErrNotExist) {
			msg = "no such file (copy configs/watchpost.yaml there, or point --config or " + paths.EnvConfig + " at the file)"
		} else if pe := (*os.PathError)(nil); errors.As(err, &pe) {
			msg = "cannot read: " + pe.Err.Error()
		}
		return cfg, []Problem{{File: path, Msg: msg}}
	}
	return Parse(path, data, opts)
}

// Parse is Check on the contents of a file named name. Relative file
// paths in it are resolved against name's directory.
func Parse(name string, data []byte, opts Options) (*Config, []Problem) {
	env := opts.Env
	if env == nil {
		env = func(string) string { return "" }
	}
	l := &loader{opts: opts, env: env, file: name, cfg: defaults(env)}
	l.cfg.file = name
	l.opts.Clock = clock.OrSystem(opts.Clock)
	if name != "" && !l.decodeFile(data) {
		// The file could not be read as a mapping: checking the rest
		// would only add noise about keys that are in it.
		return l.cfg, l.problems
	}
	l.applyEnv()
	l.resolvePaths()
	l.readSecrets()
	l.validate()
	l.sortProblems()
	return l.cfg, l.problems
}

type loader struct {
	opts     Options
	env      func(string) string
	file     string
	cfg      *Config
	problems []Problem
}

func (l *loader) add(at Source, key string, warning bool, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: at.File, Line: at.Line, Env: at.Env, Key: key, Msg: fmt.Sprintf(format, args...), Warning: warning})
}

// errorf adds an error about key, unless key already has a problem (a
// value that did not parse is not also "required" or "out of range").
func (l *loader) errorf(key string, format string, args ...any) {
	if !l.hasProblem(key) {
		l.add(l.at(key), key, false, format, args...)
	}
}

// warnf is errorf for a warning.
func (l *loader) warnf(key string, format string, args ...any) {
	if !l.hasProblem(key) {
		l.add(l.at(key), key, true, format, args...)
	}
}

// at returns where key's value came from: its own entry, its list's, or
// the configuration file (line 0) for a default.
func (l *loader) at(key string) Source {
	if s, ok := l.cfg.where[key]; ok {
		return s
	}
	if i := strings.IndexByte(key, '['); i > 0 {
		if s, ok := l.cfg.where[key[:i]]; ok {
			return s
		}
	}
	return Source{File: l.file}
}

func (l *loader) set(key string, s Source) { l.cfg.where[key] = s }

func (l *loader) sortProblems() {
	rank := func(p Problem) (int, string, int) {
		line := p.Line
		if line == 0 {
			line = 1 << 30
		}
		switch {
		case p.Env != "":
			return 2, p.Env, 0
		case p.File == l.file:
			return 0, "", line
		default:
			return 1, p.File, line
		}
	}
	sort.SliceStable(l.problems, func(i, j int) bool {
		ri, fi, li := rank(l.problems[i])
		rj, fj, lj := rank(l.problems[j])
		if ri != rj {
			return ri < rj
		}
		if fi != fj {
			return fi < fj
		}
		return li < lj
	})
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeFile reads the YAML into the configuration; false if it is not
// a YAML mapping at all.
func (l *loader) decodeFile(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return true // an empty file: defaults
		}
		l.yamlError(err, data)
		return false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.add(Source{File: l.file, Line: extra.Line}, "", false, "a second YAML document (after ---): the configuration is one document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = deref(root)
	if isNull(root) {
		return true
	}
	if root.Kind != yaml.MappingNode {
		l.add(Source{File: l.file, Line: root.Line}, "", false, "want a mapping of keys (post_id: ..., hq: ...), got %s", describe(root))
		return false
	}
	l.decodeMapping(root, schema().root)
	return true
}

func (l *loader) yamlError(err error, data []byte) {
	msg := err.Error()
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		l.add(Source{File: l.file}, "", false, "%s", strings.TrimPrefix(msg, "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	msg = m[2]
	lines := strings.Split(string(data), "\n")
	for _, n := range []int{line - 1, line} { // yaml reports tabs on the line or the one after
		if n >= 1 && n <= len(lines) && strings.HasPrefix(strings.TrimLeft(lines[n-1], " "), "\t") {
			msg += " (indent with spaces, not tabs)"
			break
		}
	}
	l.add(Source{File: l.file, Line: line}, "", false, "%s", msg)
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// secretKeys are keys an operator may try to write in the YAML, and where
// the secret goes instead.
var secretKeys = map[string]string{
	"hq.password":          "the broker password is never written in this file: put it in a file (mode 0600) named by hq.password_file, or in " + EnvHQPassword,
	"hq.passwd":            "the broker password is never written in this file: put it in a file (mode 0600) named by hq.password_file, or in " + EnvHQPassword,
	"api.tokens":           "API tokens are never written in this file: put them in a file (one name:token per line, mode 0600) named by api.tokens_file, or in " + EnvAPITokens,
	"api.token":            "API tokens are never written in this file: put them in a file (one name:token per line, mode 0600) named by api.tokens_file, or in " + EnvAPITokens,
	"hq.private_key":       "HQ's private key never goes to a post; hq.keys_file holds HQ's public keys",
	"store.encryption_key": "the store encryption key is never written in this file: put it in a file (mode 0600) named by store.encryption_key_file (watchpost config new-store-key FILE makes one), or in " + EnvStoreEncryptionKey,
	"store.key":            "the store encryption key is never written in this file: put it in a file (mode 0600) named by store.encryption_key_file (watchpost config new-store-key FILE makes one), or in " + EnvStoreEncryptionKey,
}

func (l *loader) decodeMapping(n *yaml.Node, sec *field) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		path := k.Value
		if sec.path != "" {
			path = sec.path + "." + k.Value
		}
		at := Source{File: l.file, Line: k.Line}
		if first, dup := seen[k.Value]; dup {
			l.add(at, path, false, "duplicate key (first set at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		f := sec.child(k.Value)
		if f == nil {
			l.add(at, path, false, "%s", l.unknownKey(k.Value, path, sec))
			continue
		}
		if f.children != nil {
			switch {
			case isNull(v):
			case v.Kind != yaml.MappingNode:
				l.add(at, path, false, "want a mapping (keys indented under %s:), got %s", k.Value, describe(v))
			default:
				l.decodeMapping(v, f)
			}
			continue
		}
		if isNull(v) {
			continue // "key:" with no value leaves the default
		}
		l.set(path, at)
		if f.kind == kindList {
			if v.Kind != yaml.SequenceNode {
				l.add(at, path, false, "want a list ([a, b], or one \"- item\" per line), got %s", describe(v))
				continue
			}
			items := []string{}
			for j, it := range v.Content {
				it = deref(it)
				ik := fmt.Sprintf("%s[%d]", path, j)
				if it.Kind != yaml.ScalarNode {
					l.add(Source{File: l.file, Line: it.Line}, ik, false, "want a string, got %s", describe(it))
					continue
				}
				l.set(ik, Source{File: l.file, Line: it.Line})
				items = append(items, it.Value)
			}
			l.value(f).Set(reflect.ValueOf(items))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			l.add(at, path, false, "want a single value, got %s", describe(v))
			continue
		}
		if err := l.setText(f, v.Value); err != nil {
			l.add(at, path, false, "%v", err)
		}
	}
}

func (l *loader) value(f *field) reflect.Value {
	return reflect.ValueOf(l.cfg).Elem().FieldByIndex(f.index)
}

// setText sets a scalar leaf from its text.
func (l *loader) setText(f *field, text string) error {
	v := l.value(f)
	switch f.kind {
	case kindString:
		v.SetString(strings.TrimSpace(text))
	case kindFloat:
		x, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", text)
		}
		v.SetFloat(x)
	case kindText:
		return v.Addr().Interface().(interface{ UnmarshalText([]byte) error }).UnmarshalText([]byte(text))
	}
	return nil
}

func (l *loader) unknownKey(name, path string, sec *field) string {
	if msg, ok := secretKeys[path]; ok {
		return msg
	}
	msg := fmt.Sprintf("unknown key %q", name)
	var names []string
	for _, c := range sec.children {
		names = append(names, c.name)
	}
	if s := closest(name, names); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	// The right name at the wrong level ("brokers" at the top).
	for _, f := range schema().byPath {
		if f.name == name || closest(name, []string{f.name}) != "" {
			if i := strings.LastIndexByte(f.path, '.'); i > 0 {
				return msg + fmt.Sprintf("; did you mean %s (%q under %s:)?", f.path, f.name, f.path[:i])
			}
			return msg + fmt.Sprintf("; did you mean %s (at the top level)?", f.path)
		}
	}
	return msg + " (configs/watchpost.yaml lists every key)"
}

// closest returns the candidate nearest to s when it is near enough to be
// a typo, else "".
func closest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(x))
	}
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(norm(s), norm(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	if len(s) >= 5 {
		limit = 2
	}
	if len(s) >= 10 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance (a swap of two
// neighbours counts as one edit).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// applyEnv applies WATCHPOST_* variables over the file.
func (l *loader) applyEnv() {
	known := map[string]bool{paths.EnvConfig: true, EnvHQPassword: true, EnvAPITokens: true, EnvStoreEncryptionKey: true}
	for _, f := range schema().leaves {
		known[f.env] = true
		val := l.env(f.env)
		if val == "" {
			continue
		}
		at := Source{Env: f.env}
		l.set(f.path, at)
		if f.kind == kindList {
			items := splitList(val)
			for i := range items {
				l.set(fmt.Sprintf("%s[%d]", f.path, i), at)
			}
			l.value(f).Set(reflect.ValueOf(items))
			continue
		}
		if err := l.setText(f, val); err != nil {
			l.add(at, f.path, false, "%v", err)
		}
	}
	var names []string
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, kv := range l.opts.Environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || known[name] {
			continue
		}
		if s := closest(name, names); s != "" {
			l.add(Source{Env: name}, "", true, "not a Watchpost variable (ignored); did you mean %s?", s)
		}
	}
}

// splitList splits a comma-separated variable, dropping empty items.
func splitList(s string) []string {
	items := []string{}
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	return items
}

// fileKeys are the keys naming files; relative names are resolved against
// the configuration file's directory.
func (c *Config) fileKeys() map[string]*string {
	return map[string]*string{
		"store.encryption_key_file": &c.Store.EncryptionKeyFile,
		"hq.keys_file":              &c.HQ.KeysFile,
		"hq.ca_file":                &c.HQ.CAFile,
		"hq.cert_file":              &c.HQ.CertFile,
		"hq.key_file":               &c.HQ.KeyFile,
		"hq.password_file":          &c.HQ.PasswordFile,
		"api.tokens_file":           &c.API.TokensFile,
	}
}

func (l *loader) resolvePaths() {
	if l.file == "" {
		return
	}
	dir := filepath.Dir(l.file)
	for _, p := range l.cfg.fileKeys() {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}
