package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/safeurl"
)

// certWarnBefore is how long before expiry a certificate draws a warning.
const certWarnBefore = 30 * 24 * time.Hour

func (l *loader) validate() {
	c := l.cfg
	if c.PostID == "" {
		l.errorf("post_id", "required: the post's id, as HQ knows it ([a-z0-9-], e.g. \"gate-north-1\")")
	} else if err := protocol.ValidatePostID(c.PostID); err != nil {
		l.errorf("post_id", "%v", err)
	}
	l.absDir("data_dir", c.DataDir, true)

	l.validateHQ()

	seen := map[string]int{}
	for i, name := range c.Lists {
		key := fmt.Sprintf("lists[%d]", i)
		if err := protocol.ValidListName(name); err != nil {
			l.errorf(key, "%v", err)
		} else if j, dup := seen[name]; dup {
			l.errorf(key, "%q is already lists[%d]", name, j)
		}
		seen[name] = i
	}
	if len(c.HQ.Brokers) > 0 && len(c.Lists) == 0 {
		key := "lists"
		if _, ok := c.where[key]; !ok {
			key = "hq.brokers"
		}
		l.add(l.at(key), "lists", false, "hq.brokers is set but lists is empty: name the lists this post replicates from HQ (e.g. lists: [un, national])")
	}

	s := c.Screening
	for _, t := range []struct {
		key string
		v   float64
	}{{"screening.match_threshold", s.MatchThreshold}, {"screening.possible_threshold", s.PossibleThreshold}} {
		if !(t.v > 0 && t.v <= 1) {
			l.errorf(t.key, "%v is out of range (want a score in (0, 1], e.g. 0.85)", t.v)
		}
	}
	if s.PossibleThreshold >= s.MatchThreshold && s.MatchThreshold > 0 && s.MatchThreshold <= 1 {
		l.errorf("screening.possible_threshold", "%v is not below screening.match_threshold %v (want possible < match)", s.PossibleThreshold, s.MatchThreshold)
	}
	l.positive("screening.retention", s.Retention)
	l.positive("screening.hit_retention", s.HitRetention)
	if s.HitRetention > 0 && s.HitRetention < s.Retention {
		l.warnf("screening.hit_retention", "%s is shorter than screening.retention %s: hits would be deleted before ordinary records", s.HitRetention, s.Retention)
	}

	l.validateAPI()

	if c.Intake.Dir != "" {
		l.absDir("intake.dir", c.Intake.Dir, false)
		if fi, err := os.Stat(c.Intake.Dir); !l.opts.SkipFiles && err == nil && !fi.IsDir() {
			l.errorf("intake.dir", "%s is not a directory", c.Intake.Dir)
		}
	}
	l.positive("intake.interval", c.Intake.Interval)
	l.positive("intake.stable_for", c.Intake.StableFor)

	if c.Store.DiskReserve <= 0 {
		l.errorf("store.disk_reserve", "%s: want a positive size, e.g. %s", c.Store.DiskReserve, DefaultDiskReserve)
	} else if c.Store.DiskReserve < 32*MiB {
		l.warnf("store.disk_reserve", "%s is below Badger's memtable (32MiB): a full memtable may not fit when it is flushed, and a full disk crashes Badger", c.Store.DiskReserve)
	}
	if c.Outbox.Budget <= 0 {
		l.errorf("outbox.budget", "%s: want a positive size, e.g. 64MiB", c.Outbox.Budget)
	} else if c.Outbox.Budget < MiB {
		l.warnf("outbox.budget", "%s is very small: the outbox holds hits and dispositions while HQ is unreachable", c.Outbox.Budget)
	}

	if _, err := engine.CheckShrinkLimit(c.Import.MaxShrink); err != nil || c.Import.MaxShrink == 0 {
		l.errorf("import.max_shrink", "%v: want a share above 0 and at most 1, e.g. 0.10 for 10 %%", c.Import.MaxShrink)
	}
	if c.Import.MaxFileSize <= 0 {
		l.errorf("import.max_file_size", "%s: want a positive size, e.g. 512MiB", c.Import.MaxFileSize)
	}

	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
		c.Log.Level = strings.ToLower(c.Log.Level)
	case "warning":
		c.Log.Level = "warn"
	default:
		l.errorf("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch strings.ToLower(c.Log.Format) {
	case "text", "json":
		c.Log.Format = strings.ToLower(c.Log.Format)
	default:
		l.errorf("log.format", "%q: want text or json", c.Log.Format)
	}

	l.positive("status_interval", c.StatusInterval)
	if l.positive("stop_timeout", c.StopTimeout) && c.StopTimeout.Duration() > MaxStopTimeout {
		l.warnf("stop_timeout", "%s is longer than the %s Windows gives services at system shutdown (WaitToKillServiceTimeout; 5 s on recent desktop editions): the service may be killed before the store is closed", c.StopTimeout, MaxStopTimeout)
	}
}

func (l *loader) validateHQ() {
	h := &l.cfg.HQ
	seen := map[string]int{}
	for i, b := range h.Brokers {
		key := fmt.Sprintf("hq.brokers[%d]", i)
		if err := checkBroker(b); err != nil {
			l.errorf(key, "%v", err)
			continue
		}
		if j, dup := seen[b]; dup {
			l.warnf(key, "same broker as hq.brokers[%d]", j)
		}
		seen[b] = i
	}
	if h.URL != "" {
		if err := checkHTTPS(h.URL); err != nil {
			l.errorf("hq.url", "%v", err)
		}
	}
	online := len(h.Brokers) > 0
	if online && h.KeysFile == "" && len(h.Keys) == 0 {
		key := "hq.keys_file"
		l.add(l.at("hq.brokers"), key, false, "required when hq.brokers is set: the file of HQ's public keys (lines of ed25519:<base64>) that every list from HQ must be signed with")
	}
	l.readKeys()

	switch {
	case h.CertFile != "" && h.KeyFile == "":
		l.add(l.at("hq.cert_file"), "hq.key_file", false, "hq.cert_file is set but hq.key_file is not: a client certificate needs its private key")
	case h.CertFile == "" && h.KeyFile != "":
		l.add(l.at("hq.key_file"), "hq.cert_file", false, "hq.key_file is set but hq.cert_file is not: a private key needs its certificate")
	case h.CertFile != "" && !l.opts.SkipFiles:
		_, okc := l.readFile("hq.cert_file", h.CertFile, false)
		_, okk := l.readFile("hq.key_file", h.KeyFile, true)
		if okc && okk {
			pair, err := tls.LoadX509KeyPair(h.CertFile, h.KeyFile)
			if err != nil {
				l.errorf("hq.cert_file", "%s with %s: %v", h.CertFile, h.KeyFile, err)
			} else {
				l.checkExpiry("hq.cert_file", h.CertFile, pair.Leaf)
			}
		}
	}
	if h.CAFile != "" && !l.opts.SkipFiles {
		if b, ok := l.readFile("hq.ca_file", h.CAFile, false); ok {
			if !x509.NewCertPool().AppendCertsFromPEM(b) {
				l.errorf("hq.ca_file", "%s holds no PEM certificate", h.CAFile)
			}
		}
	}
	if h.Password.IsSet() && h.Username == "" {
		l.warnf("hq.username", "a password is set (%s) but hq.username is empty", l.at("hq.password"))
	}
	if h.Username != "" && h.PasswordFile == "" && !h.Password.IsSet() && !l.opts.SkipFiles {
		l.warnf("hq.username", "hq.username is set but there is no password (hq.password_file or %s)", EnvHQPassword)
	}
	if h.KeepAlive < 0 {
		l.errorf("hq.keep_alive", "%s: want a positive duration", h.KeepAlive)
	}
	if h.ConnectTimeout < 0 {
		l.errorf("hq.connect_timeout", "%s: want a positive duration", h.ConnectTimeout)
	}
}

func (l *loader) checkExpiry(key, file string, cert *x509.Certificate) {
	if cert == nil {
		return
	}
	now := l.opts.Clock.Now()
	switch {
	case now.After(cert.NotAfter):
		l.errorf(key, "%s expired on %s", file, cert.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(cert.NotBefore):
		l.errorf(key, "%s is not valid before %s (is the clock right?)", file, cert.NotBefore.UTC().Format(time.RFC3339))
	case cert.NotAfter.Sub(now) < certWarnBefore:
		l.warnf(key, "%s expires on %s", file, cert.NotAfter.UTC().Format(time.DateOnly))
	}
}

func (l *loader) validateAPI() {
	a := &l.cfg.API
	if !a.Enabled() {
		return
	}
	if l.positive("api.console_idle_timeout", a.ConsoleIdleTimeout) && (a.ConsoleIdleTimeout.Duration() < time.Minute || a.ConsoleIdleTimeout.Duration() > 12*time.Hour) {
		l.errorf("api.console_idle_timeout", "%s: want 1m to 12h (a console left open at a border post must close)", a.ConsoleIdleTimeout)
	}
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		l.errorf("api.listen", "%q is not host:port (e.g. 127.0.0.1:8640; \"off\" disables the API)", a.Listen)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		l.errorf("api.listen", "%q: port %q is not a number in 0..65535", a.Listen, port)
		return
	}
	if !isLoopback(host) && len(a.Tokens) == 0 && !(l.opts.SkipFiles && a.TokensFile != "") {
		l.errorf("api.listen", "%q is not a loopback address, and no API tokens are set: Watchpost refuses to serve the API on the network without them (set api.tokens_file, or %s, or listen on 127.0.0.1)", a.Listen, EnvAPITokens)
	}
}

// Enabled reports whether the API is served (Listen is neither "" nor
// "off").
func (a API) Enabled() bool { return a.Listen != "" && !strings.EqualFold(a.Listen, "off") }

// positive reports whether d > 0, adding a problem if not.
func (l *loader) positive(key string, d Duration) bool {
	if d <= 0 {
		l.errorf(key, "%s: want a positive duration", d)
		return false
	}
	return true
}

func (l *loader) absDir(key, dir string, required bool) {
	switch {
	case dir == "" && required:
		l.errorf(key, "required")
	case dir != "" && !filepath.IsAbs(dir):
		l.errorf(key, "%q is not an absolute path (a service's working directory is not the configuration's)", dir)
	}
}

// isLoopback reports whether host is "localhost" or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkBroker checks an MQTT broker URL. Its errors quote the URL with
// any password hidden.
func checkBroker(raw string) error {
	const want = "want tls://host:port or tcp://host:port"
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u == nil {
			return fmt.Errorf("not a URL (%s)", want)
		}
		return fmt.Errorf("%q is not a URL (%s)", safeurl.Of(u), want)
	}
	shown := safeurl.Of(u)
	if u.User != nil {
		return fmt.Errorf("%q: credentials in the URL; put the user in hq.username and the password in hq.password_file", shown)
	}
	scheme := strings.ToLower(u.Scheme)
	tlsScheme := false
	switch scheme {
	case "tls", "ssl", "mqtts", "tcps":
		tlsScheme = true
	case "tcp", "mqtt":
	default:
		return fmt.Errorf("%q: scheme %q (want tls, ssl, mqtts, tcp or mqtt)", shown, u.Scheme)
	}
	if u.Port() == "" {
		port := "8883"
		if !tlsScheme {
			port = "1883"
		}
		return fmt.Errorf("%q has no port (want e.g. %s://%s:%s)", shown, scheme, u.Hostname(), port)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port %q is not a number in 1..65535", shown, u.Port())
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return fmt.Errorf("%q: a broker URL has no path or query (%s)", shown, want)
	}
	if !tlsScheme && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q: plain %s:// to a host other than this machine would send hits and credentials in the clear; use tls://%s:8883 (plain tcp is only for a broker on 127.0.0.1)", shown, scheme, u.Hostname())
	}
	return nil
}

// checkHTTPS checks HQ's HTTPS base URL.
func checkHTTPS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		if u != nil {
			raw = safeurl.Of(u)
		} else {
			raw = "this value"
		}
		return fmt.Errorf("%q is not an HTTPS URL (want https://host[:port]/path)", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q: credentials in the URL are not allowed", safeurl.Of(u))
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q: plain http to a host other than this machine; use https://", safeurl.Of(u))
	}
	return nil
}
