package doctor

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/daemon/service"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
)

const postID = "gate-north-1"

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(5 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for cn valid from notBefore to
// notAfter, for server use (127.0.0.1) or client use.
func (ca *testCA) issue(t *testing.T, cn string, notBefore, notAfter time.Time, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// tlsServer listens on 127.0.0.1 with a server certificate from ca,
// requiring a client certificate from clientCA, completes handshakes and
// holds connections open (as a broker waiting for CONNECT does).
func tlsServer(t *testing.T, ca, clientCA *testCA) string {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "broker", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour), true)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				var b [1]byte
				c.Read(b[:])
			}()
		}
	}()
	return ln.Addr().String()
}

// fixture is a post's files: configuration, TLS files, key set, data dir.
type fixture struct {
	dir, data                           string
	ca                                  *testCA
	caFile, certFile, keyFile, keyFile2 string
	brokers                             []string
	hqURL                               string
	api                                 string
	extra                               string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), ca: newCA(t, "watchpost test CA"), api: "off"}
	f.data = filepath.Join(f.dir, "data")
	f.caFile = write(t, f.dir, "ca.pem", f.ca.pem)
	c, k := f.ca.issue(t, postID, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour), false)
	f.certFile = write(t, f.dir, "post.pem", c)
	f.keyFile = write(t, f.dir, "post.key", k)
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	write(t, f.dir, "hq-keys.txt", []byte(protocol.FormatPublicKey(pub)+"\n"))
	return f
}

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) config(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "post_id: %s\ndata_dir: %s\nlists: [un]\napi:\n  listen: %s\nhq:\n", postID, f.data, f.api)
	if len(f.brokers) > 0 {
		fmt.Fprintf(&b, "  brokers: [%s]\n", strings.Join(f.brokers, ", "))
	}
	if f.hqURL != "" {
		fmt.Fprintf(&b, "  url: %s\n", f.hqURL)
	}
	fmt.Fprintf(&b, "  keys_file: hq-keys.txt\n  ca_file: %s\n  cert_file: %s\n  key_file: %s\n", f.caFile, f.certFile, f.keyFile)
	b.WriteString(f.extra)
	return write(t, f.dir, "watchpost.yaml", []byte(b.String()))
}

// importList imports the embedded UN list and records a verified head
// issued at issued, as the replica applier would.
func (f *fixture) importList(t *testing.T, issued time.Time) {
	t.Helper()
	st, err := daemon.OpenStore(f.data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := write(t, t.TempDir(), "un.xml", sample.UNList)
	info, err := daemon.ImportList(context.Background(), st, badgerstore.ListMeta{Name: "un", Format: "un-xml", Action: "refer"}, path)
	if err != nil {
		t.Fatal(err)
	}
	state := fmt.Sprintf(`{"format":1,"epoch":1,"version":1,"hash":%q,"highest_seen":{"epoch":1,"version":1},"last_head_issued_at":%q,"head_valid_until":%q}`,
		info.Hash, issued.UTC().Format(time.RFC3339Nano), issued.Add(24*time.Hour).UTC().Format(time.RFC3339Nano))
	if err := st.SetReplica(context.Background(), "un", info.Version, json.RawMessage(state)); err != nil {
		t.Fatal(err)
	}
}

// doctor returns a Doctor for f's configuration with a healthy machine:
// plenty of disk, the service running, no API unless api is set.
func (f *fixture) doctor(t *testing.T) *Doctor {
	return &Doctor{
		ConfigPath:    f.config(t),
		DiskFree:      func(string) (uint64, error) { return 50 << 30, nil },
		ServiceStatus: func() (service.State, error) { return service.StateRunning, nil },
	}
}

func findings(rep *Report, check string) []Finding {
	var out []Finding
	for _, f := range rep.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

// want fails unless a finding of check has result res and a detail
// containing substr.
func want(t *testing.T, rep *Report, check string, res Result, substr string) {
	t.Helper()
	for _, f := range findings(rep, check) {
		if f.Result == res && strings.Contains(f.Detail, substr) {
			return
		}
	}
	t.Errorf("no %s finding %q containing %q in:\n%s", check, res, substr, dump(rep))
}

func dump(rep *Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "  %-10s %-7s %s\n", f.Check, f.Result, f.Detail)
	}
	return b.String()
}

func TestHealthy(t *testing.T) {
	f := newFixture(t)
	addr := tlsServer(t, f.ca, f.ca)
	f.brokers = []string{"tls://" + addr}
	f.hqURL = "https://" + addr + "/watchpost"
	f.importList(t, time.Now().Add(-time.Hour))
	rep := f.doctor(t).Run(context.Background())
	for _, fd := range rep.Findings {
		if fd.Result != OK {
			t.Errorf("%s: %s: %s", fd.Check, fd.Result, fd.Detail)
		}
	}
	if rep.Failed() {
		t.Error("Failed() on a healthy post")
	}
	for _, check := range []string{"config", "data dir", "disk space", "store", "lists", "clock", "hq keys", "broker 0", "tls ca", "tls cert", "hq https", "service"} {
		if len(findings(rep, check)) == 0 {
			t.Errorf("no %s finding:\n%s", check, dump(rep))
		}
	}
	want(t, rep, "store", OK, "1 lists, 1003 entries")
	want(t, rep, "broker 0", OK, "TLS handshake ok")
}

// statusServer serves the running post's GET /v1/status.
func statusServer(t *testing.T, st api.Status) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRunningPost(t *testing.T) {
	now := time.Now()
	f := newFixture(t)
	f.api = "127.0.0.1:8640"
	var st api.Status
	st.Post, st.Clock = postID, now
	st.Lists = []protocol.ListHeld{{List: "un", Epoch: 1, Version: 4, Entries: 1003, HeadIssuedAt: now.Add(-time.Minute), HeadValidUntil: now.Add(time.Hour)}}
	d := f.doctor(t)
	d.APIBase = statusServer(t, st)
	rep := d.Run(context.Background())
	want(t, rep, "store", OK, "in use by the running post")
	want(t, rep, "lists", OK, "un epoch 1 version 4, 1003 entries")
	want(t, rep, "clock", OK, "agrees with this machine")
	want(t, rep, "clock", OK, "watchpost-hq posts")

	t.Run("stale, clock behind", func(t *testing.T) {
		st.Lists[0].Stale = "no fresh head since 2 days"
		st.Lists[0].HeadIssuedAt = now.Add(time.Hour)
		d.APIBase = statusServer(t, st)
		rep := d.Run(context.Background())
		want(t, rep, "lists", Warn, "STALE")
		want(t, rep, "clock", Fail, "is behind")
	})
	t.Run("no list", func(t *testing.T) {
		st.Lists = nil
		d.APIBase = statusServer(t, st)
		rep := d.Run(context.Background())
		want(t, rep, "lists", Fail, "no list loaded: the post cannot screen")
	})
}

func TestBrokenConfig(t *testing.T) {
	f := newFixture(t)
	f.extra = "screening:\n  match_threshold: 7\nlog:\n  levle: debug\n"
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "config", Fail, "watchpost.yaml:")
	want(t, rep, "config", Fail, "levle")
	if !rep.Failed() {
		t.Error("Failed() = false")
	}
}

func TestDataDirUnwritable(t *testing.T) {
	f := newFixture(t)
	if os.Geteuid() == 0 {
		// root writes through mode bits: use a path under a regular file.
		file := write(t, f.dir, "not-a-dir", []byte("x"))
		f.data = filepath.Join(file, "data")
	} else {
		if err := os.Mkdir(f.data, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(f.data, 0o700) })
	}
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "data dir", Fail, f.data)
	if !rep.Failed() {
		t.Error("Failed() = false")
	}
}

func TestDiskSpace(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	d := f.doctor(t)
	for _, c := range []struct {
		free uint64
		res  Result
	}{{50 << 20, Fail}, {500 << 20, Warn}, {2 << 30, OK}} {
		d.DiskFree = func(string) (uint64, error) { return c.free, nil }
		want(t, d.Run(context.Background()), "disk space", c.res, "free on "+f.data)
	}
}

func TestStoreLocked(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	st, err := daemon.OpenStore(f.data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "store", Fail, "another process holds the store")
	want(t, rep, "lists", Skipped, "")
}

func TestNoLists(t *testing.T) {
	f := newFixture(t)
	st, err := daemon.OpenStore(f.data, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "store", OK, "0 lists")
	want(t, rep, "lists", Fail, "no list loaded")
	want(t, rep, "clock", Skipped, "no signed head")
}

func TestOldList(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	d := f.doctor(t)
	d.Now = func() time.Time { return time.Now().Add(72 * time.Hour) }
	rep := d.Run(context.Background())
	want(t, rep, "lists", Warn, "older than 48h")
}

func TestCertificates(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	c, k := f.ca.issue(t, postID, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), false)
	f.certFile = write(t, f.dir, "expired.pem", c)
	f.keyFile = write(t, f.dir, "expired.key", k)
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "tls cert", Fail, "expired on")
	want(t, rep, "config", Fail, "expired")

	c, k = f.ca.issue(t, "gate-south-2", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour), false)
	f.certFile = write(t, f.dir, "other.pem", c)
	f.keyFile = write(t, f.dir, "other.key", k)
	rep = f.doctor(t).Run(context.Background())
	want(t, rep, "tls cert", OK, "matches hq.key_file")
	want(t, rep, "tls cert", Warn, `CN "gate-south-2", not post_id "gate-north-1"`)

	c, _ = f.ca.issue(t, postID, time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour), false)
	f.certFile = write(t, f.dir, "soon.pem", c)
	rep = f.doctor(t).Run(context.Background())
	want(t, rep, "tls cert", Fail, "private key does not match")
}

func TestBrokerRefused(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f.brokers = []string{"tls://" + addr}
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "broker 0", Fail, "connection refused")
}

func TestBrokerUnknownAuthority(t *testing.T) {
	f := newFixture(t)
	other := newCA(t, "someone else's CA")
	addr := tlsServer(t, other, f.ca)
	f.brokers = []string{"tls://" + addr}
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "broker 0", Fail, "unknown authority")
	want(t, rep, "broker 0", Fail, "check hq.ca_file")
}

func TestBrokerRefusesClientCert(t *testing.T) {
	f := newFixture(t)
	addr := tlsServer(t, f.ca, newCA(t, "another client CA"))
	f.brokers = []string{"tls://" + addr}
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "broker 0", Fail, "client certificate")
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	until := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	write(t, f.dir, "hq-keys.txt", []byte(protocol.FormatPublicKey(pub)+" not-after="+until+"\n"))
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "hq keys", Warn, "expires")

	f.extra = ""
	os.Remove(filepath.Join(f.dir, "hq-keys.txt"))
	f.brokers = []string{"tls://127.0.0.1:1"}
	rep = f.doctor(t).Run(context.Background())
	want(t, rep, "hq keys", Fail, "cannot be read")
}

func TestService(t *testing.T) {
	f := newFixture(t)
	d := f.doctor(t)
	for _, c := range []struct {
		state       service.State
		interactive bool
		res         Result
		detail      string
	}{
		{service.StateRunning, false, OK, "installed and running"},
		{service.StateStopped, false, Warn, "watchpost service start"},
		{service.StateFailed, false, Fail, "restart"},
		{service.StateNotInstalled, true, Warn, "the service is not installed: watchpost service install"},
		{service.StateNotInstalled, false, Skipped, "not installed"},
		{service.StateUnknown, false, Skipped, "unknown"},
	} {
		d.ServiceStatus = func() (service.State, error) { return c.state, nil }
		d.Interactive = c.interactive
		want(t, d.Run(context.Background()), "service", c.res, c.detail)
	}
}

func TestFreshPost(t *testing.T) {
	f := newFixture(t) // data dir not created
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "data dir", Warn, "does not exist yet")
	want(t, rep, "lists", Fail, "no list loaded")
	if _, err := os.Stat(f.data); err == nil {
		t.Error("the doctor created the data directory")
	}
}
