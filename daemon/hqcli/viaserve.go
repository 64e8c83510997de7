package hqcli

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/watchpost/watchpost/daemon"
)

// serveRecordFile is the file in HQ's data directory where a running
// serve says where its admin API listens, so that a read command given
// --data-dir while serve holds the store can go through serve instead.
// It names files (the admin token's, the certificate's), never holds a
// secret, and is removed when serve stops.
const serveRecordFile = "serve.json"

// serveRecord is the content of serveRecordFile.
type serveRecord struct {
	// URL is the admin API's base URL as a client on this machine
	// reaches it (a wildcard listen address becomes the name in serve's
	// certificate, or loopback).
	URL string `json:"url"`
	// TokenFile is serve's --admin-token-file, absolute ("" without one:
	// serve answers loopback clients only).
	TokenFile string `json:"token_file,omitempty"`
	// CA is serve's --https-cert, absolute: trusted as the anchor of its
	// own certificate ("" for plain HTTP).
	CA  string `json:"ca,omitempty"`
	PID int    `json:"pid"`
}

// writeServeRecord records in dataDir where serve, listening at
// listenURL, is reached.
func (f *serveFlags) writeServeRecord(listenURL string) error {
	rec := serveRecord{URL: clientURL(listenURL, f.httpsCert), PID: os.Getpid()}
	var err error
	if f.adminTokenFile != "" {
		if rec.TokenFile, err = filepath.Abs(f.adminTokenFile); err != nil {
			return err
		}
	}
	if f.httpsCert != "" {
		if rec.CA, err = filepath.Abs(f.httpsCert); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(f.dataDir, serveRecordFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("record serve's address: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("record serve's address: %w", err)
	}
	return nil
}

func removeServeRecord(dataDir string) {
	os.Remove(filepath.Join(dataDir, serveRecordFile))
}

// readServeRecord reads dataDir's serve record; ok is false without one.
func readServeRecord(dataDir string) (rec serveRecord, ok bool, err error) {
	f, err := os.Open(filepath.Join(dataDir, serveRecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	defer f.Close()
	if err := json.NewDecoder(io.LimitReader(f, 64<<10)).Decode(&rec); err != nil {
		return rec, false, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if !strings.HasPrefix(rec.URL, "https://") && !strings.HasPrefix(rec.URL, "http://") {
		return rec, false, fmt.Errorf("%s: url %q is not http(s)://", f.Name(), rec.URL)
	}
	return rec, true, nil
}

// clientURL turns the URL of serve's listener into one a client on this
// machine can use: a wildcard host becomes the first name of the HTTPS
// certificate in certFile (loopback for plain HTTP or a certificate
// without names), as does a host the certificate does not cover.
func clientURL(listenURL, certFile string) string {
	u, err := url.Parse(listenURL)
	if err != nil {
		return listenURL
	}
	host, port := u.Hostname(), u.Port()
	ip := net.ParseIP(host)
	wildcard := host == "" || (ip != nil && ip.IsUnspecified())
	if cert := firstCert(certFile); cert != nil && (wildcard || cert.VerifyHostname(host) != nil) {
		switch {
		case len(cert.DNSNames) > 0:
			host, wildcard = cert.DNSNames[0], false
		case len(cert.IPAddresses) > 0:
			host, wildcard = cert.IPAddresses[0].String(), false
		}
	}
	if wildcard {
		host = "127.0.0.1"
	}
	u.Host = net.JoinHostPort(host, port)
	return u.String()
}

func firstCert(file string) *x509.Certificate {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil
	}
	return c
}

// readCommand is how a read command was invoked, to name the exact
// command that goes through serve.
type readCommand struct {
	name string   // "lists", "audit", "user"
	args []string // as given
}

// throughServe runs do through the serve that holds HQ's store in dataDir
// (inUse is the store's "in use" error), as its serve record says; when
// that is impossible it fails with the exact --hq command to run. ca, if
// set, is the user's --ca, preferred over the record's.
func throughServe(ctx context.Context, env *Env, dataDir, ca string, cmd readCommand, inUse error, do func(*hqClient) error) error {
	rec, ok, err := readServeRecord(dataDir)
	if !ok {
		why := "serve is running"
		if err != nil {
			why += " (its address record is unreadable: " + err.Error() + ")"
		}
		return fmt.Errorf("%s and holds HQ's store in %s (%w): run %s, with serve's --listen address and --admin-token-file",
			why, dataDir, inUse, cmd.through("https://HOST:PORT", "FILE", ""))
	}
	c := &hqClient{hqURL: rec.URL, tokenFile: rec.TokenFile, ca: cmp.Or(ca, rec.CA)}
	err = do(c)
	var answer *answerError
	if errors.As(err, &answer) && answer.code != http.StatusUnauthorized && answer.code != http.StatusForbidden {
		fmt.Fprintf(env.Stderr, "note: serve holds HQ's store; read through it at %s\n", rec.URL)
		return err // serve's own answer: the question, not the way, failed
	}
	if err != nil {
		return fmt.Errorf("serve is running and holds HQ's store in %s; reading through it at %s failed: %w; run %s",
			dataDir, rec.URL, err, cmd.through(rec.URL, cmp.Or(rec.TokenFile, "FILE"), c.ca))
	}
	fmt.Fprintf(env.Stderr, "note: serve holds HQ's store; read through it at %s (next time: %s)\n", rec.URL, cmd.through(rec.URL, rec.TokenFile, c.ca))
	return nil
}

// through returns the command line that runs cmd through serve: its
// arguments without --data-dir and --store-key-file, with --hq URL,
// --token-file and --ca.
func (cmd readCommand) through(hqURL, tokenFile, ca string) string {
	out := []string{"watchpost-hq", cmd.name}
	skip := false
	for _, a := range cmd.args {
		if skip {
			skip = false
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "data-dir" || name == "store-key-file") {
			skip = !hasValue
			continue
		}
		out = append(out, shellQuote(a))
	}
	out = append(out, "--hq", shellQuote(hqURL))
	if tokenFile != "" {
		out = append(out, "--token-file", shellQuote(tokenFile))
	}
	if ca != "" {
		out = append(out, "--ca", shellQuote(ca))
	}
	return strings.Join(out, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// storeInUse reports whether err says another process holds HQ's store.
func storeInUse(err error) bool { return errors.Is(err, daemon.ErrHQStoreInUse) }
