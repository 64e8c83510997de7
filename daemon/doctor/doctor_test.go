package doctor

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/protocol"
)

const postID = "gate-north-1"

// issue returns a PEM client certificate and key for cn, from ca, valid
// from notBefore to notAfter.
func issue(t *testing.T, ca *brokertest.CA, cn string, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	c := ca.Issue(t, brokertest.Leaf{CN: cn, NotBefore: notBefore, NotAfter: notAfter})
	return c.CertPEM, c.KeyPEM
}

// tlsServer listens on 127.0.0.1 with a server certificate from ca,
// requiring a client certificate from clientCA, completes handshakes and
// holds connections open (as a broker waiting for CONNECT does).
func tlsServer(t *testing.T, ca, clientCA *brokertest.CA) string {
	t.Helper()
	pair := ca.Issue(t, brokertest.Leaf{CN: "broker", Server: true, NotAfter: time.Now().Add(365 * 24 * time.Hour)}).Pair
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: clientCA.Pool(), ClientAuth: tls.RequireAndVerifyClientCert,
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
	ca                                  *brokertest.CA
	caFile, certFile, keyFile, keyFile2 string
	brokers                             []string
	hqURL                               string
	api                                 string
	extra                               string
	// storeKey, when set, is written to store.key and named by
	// store.encryption_key_file.
	storeKey []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), ca: brokertest.NewCA(t, "watchpost test CA"), api: "off"}
	f.data = filepath.Join(f.dir, "data")
	f.caFile = write(t, f.dir, "ca.pem", f.ca.PEM)
	c, k := issue(t, f.ca, postID, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
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
	if f.storeKey != nil {
		fmt.Fprintf(&b, "store:\n  encryption_key_file: %s\n", write(t, f.dir, "store.key", []byte(hex.EncodeToString(f.storeKey)+"\n")))
	}
	b.WriteString(f.extra)
	return write(t, f.dir, "watchpost.yaml", []byte(b.String()))
}

// importList imports the embedded UN list and records a verified head
// issued at issued, as the replica applier would.
func (f *fixture) importList(t *testing.T, issued time.Time) {
	t.Helper()
	st, err := daemon.OpenStore(f.data, f.storeKey, nil)
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
	f.storeKey = bytes.Repeat([]byte{5}, 32)
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
	for _, check := range []string{"config", "data dir", "disk space", "store", "store encryption", "lists", "clock", "hq keys", "broker 0", "tls ca", "tls cert", "hq https", "service"} {
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
	t.Run("received and rejected", func(t *testing.T) {
		st.Lists = []protocol.ListHeld{{List: "un", Rejected: 3, LastError: "head: signed by unknown key 0123456789abcdef"}}
		d.APIBase = statusServer(t, st)
		rep := d.Run(context.Background())
		want(t, rep, "lists", Warn, "received from HQ but rejected (3 messages; the last because: head: signed by unknown key 0123456789abcdef)")
		for _, f := range findings(rep, "lists") {
			if strings.Contains(f.Detail, "not received") {
				t.Errorf("a list HQ sent and the post rejected is called %q", f.Detail)
			}
		}
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

// TestDiskBelowReserve: below the store's reserve the disk check fails
// saying that the store refuses to write, and the store check says why it
// cannot open (the same measurement: doctor opens the store as the post
// does).
func TestDiskBelowReserve(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	d := f.doctor(t)
	d.DiskFree = func(string) (uint64, error) { return 50 << 20, nil }
	rep := d.Run(context.Background())
	want(t, rep, "disk space", Fail, "disk low: 50.0 MiB free on "+f.data+", below the store's reserve of 96.0 MiB (store.disk_reserve)")
	want(t, rep, "store", Fail, "not enough free disk space: 50.0 MiB free")
}

func TestStoreEncryption(t *testing.T) {
	key := bytes.Repeat([]byte{5}, 32)
	for _, tc := range []struct {
		name           string
		importKey      []byte // the store is created with it (nil: unencrypted)
		configKey      []byte // in the configuration
		store, encrypt Result
		detail         string
	}{
		{"NotEncrypted", nil, nil, OK, Warn, "data at rest is not encrypted"},
		{"Encrypted", key, key, OK, OK, "is encrypted at rest (AES-256) and opens with the configured key"},
		{"KeyMissing", key, nil, Fail, Fail, "the store is encrypted but no key is configured"},
		{"KeyForPlainStore", nil, key, Fail, Fail, "the configured key does not open the store"},
		{"OtherKey", bytes.Repeat([]byte{6}, 32), key, Fail, Fail, "the configured key does not open the store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.storeKey = tc.importKey
			f.importList(t, time.Now())
			f.storeKey = tc.configKey
			rep := f.doctor(t).Run(context.Background())
			want(t, rep, "store", tc.store, "")
			want(t, rep, "store encryption", tc.encrypt, tc.detail)
			if tc.store == Fail {
				want(t, rep, "store", Fail, badgerstore.ErrEncryptionKey.Error())
			}
		})
	}
	t.Run("NoStoreYet", func(t *testing.T) {
		f := newFixture(t)
		f.storeKey = key
		want(t, f.doctor(t).Run(context.Background()), "store encryption", OK, "the post creates its store encrypted")
	})
}

func TestStoreLocked(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	st, err := daemon.OpenStore(f.data, nil, nil)
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
	st, err := daemon.OpenStore(f.data, nil, nil)
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
	d.Clock = clocktest.NewAt(time.Now().Add(72 * time.Hour))
	rep := d.Run(context.Background())
	want(t, rep, "lists", Warn, "older than 48h")
}

func TestCertificates(t *testing.T) {
	f := newFixture(t)
	f.importList(t, time.Now())
	c, k := issue(t, f.ca, postID, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	f.certFile = write(t, f.dir, "expired.pem", c)
	f.keyFile = write(t, f.dir, "expired.key", k)
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "tls cert", Fail, "expired on")
	want(t, rep, "config", Fail, "expired")

	c, k = issue(t, f.ca, "gate-south-2", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	f.certFile = write(t, f.dir, "other.pem", c)
	f.keyFile = write(t, f.dir, "other.key", k)
	rep = f.doctor(t).Run(context.Background())
	want(t, rep, "tls cert", OK, "matches hq.key_file")
	want(t, rep, "tls cert", Fail, `CN "gate-south-2", not post_id "gate-north-1"`)
	if !rep.Failed() {
		t.Errorf("a certificate for another post is not a failure:\n%s", dump(rep))
	}

	c, _ = issue(t, f.ca, postID, time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour))
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
	other := brokertest.NewCA(t, "someone else's CA")
	addr := tlsServer(t, other, f.ca)
	f.brokers = []string{"tls://" + addr}
	rep := f.doctor(t).Run(context.Background())
	want(t, rep, "broker 0", Fail, "unknown authority")
	want(t, rep, "broker 0", Fail, "check hq.ca_file")
}

func TestBrokerRefusesClientCert(t *testing.T) {
	f := newFixture(t)
	addr := tlsServer(t, f.ca, brokertest.NewCA(t, "another client CA"))
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
