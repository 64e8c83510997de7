// Package demo tells Watchpost's whole story on one machine. Its one job
// is to run the real daemon.HQ (embedded MQTT broker, HTTPS, publisher,
// server) and two real daemon.Posts against each other and to print what
// happens: HQ publishes the UN list, both posts sync it, one screens a
// flight manifest, its hits reach HQ, HQ publishes an update, both posts
// converge. `watchpost demo` runs it; its test checks the end state.
// With Console it then keeps running with both consoles open to a demo
// account (`watchpost demo --console`).
package demo

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/paxlst"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// Options configure Run.
type Options struct {
	// Dir is the working directory (HQ's and the posts' data); it must
	// exist and be empty.
	Dir string
	// Logger receives the components' logs (discarded when nil: the demo
	// prints its own story).
	Logger *slog.Logger
	// Timeout bounds each wait (60 s when 0).
	Timeout time.Duration
	// Console keeps the demo running after its story, with both
	// consoles open to a demo account (a random password), until ctx
	// ends; Ready, if set, is then called with where they are.
	Console bool
	Ready   func(Consoles)
	// HQClock is HQ's clock (the system's when nil; tests move it).
	HQClock clock.Clock
}

// Consoles is where the running demo's consoles are, and its parts.
type Consoles struct {
	// PostURL is post-north's officer console; HQURL HQ's console over
	// plain HTTP on loopback (the demo's HTTPS certificate comes from a
	// CA made for the run, which no browser trusts).
	PostURL, HQURL string
	// HQHTTPS is the same console on HQ's HTTPS listener; CAFile the
	// demo CA that signs its certificate.
	HQHTTPS, CAFile string
	// User is the demo account (a supervisor at the post, an
	// administrator at HQ); Second is a publisher at HQ who may approve
	// what User proposes; both have Password.
	User, Second, Password string
	HQ                     *daemon.HQ
	Posts                  []*daemon.Post
	// StopPost stops post i (it goes offline at HQ).
	StopPost func(i int)
}

// Result is what the demo ended with, for its tests.
type Result struct {
	Posts []PostState
	// HitsRecorded is the hits recorded at the posts; HitsAtHQ the hit
	// records HQ stored (each once).
	HitsRecorded, HitsAtHQ int
	// Version and Hash are HQ's final version of the list.
	Version uint64
	Hash    string
}

// PostState is one post's final state.
type PostState struct {
	Name          string
	Version       uint64
	Hash          string
	Entries       int
	HitsSent      int
	OutboxPending int
}

const demoList = "un"

// story is one run of the demo: what its stages share.
type story struct {
	out   io.Writer
	o     Options
	start time.Time
	// HQ and the posts run until Run returns; then the posts stop first
	// (their last messages still reach the broker), then HQ.
	hqRun    *components
	postsRun []*components

	hq        *daemon.HQ
	signer    *protocol.Signer
	caFile    string
	unEntries []engine.Entry
	posts     []*post
	recorded  int // hits recorded at the posts
}

// post is one of the demo's posts.
type post struct {
	name string
	*daemon.Post
}

// Run tells the story, printing each step to out, and returns the final
// state: HQ (daemon.HQ with its embedded broker and HTTPS) publishes the
// UN list, two posts (daemon.Post each, with its own store) sync it, one
// screens a flight manifest, its hits reach HQ, HQ publishes an update
// (an addition and a removal), both posts converge, the other screens the
// addition.
func Run(ctx context.Context, out io.Writer, o Options) (*Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	s := &story{out: out, o: o, start: time.Now(), hqRun: newComponents(ctx)}
	defer s.hqRun.stop()
	defer func() {
		for _, c := range s.postsRun {
			c.stop()
		}
	}()
	for _, stage := range []func(context.Context) error{
		s.startHQ, s.publishList, s.startPosts, s.screenManifest, s.publishUpdate, s.screenAddition,
	} {
		if err := stage(ctx); err != nil {
			return nil, err
		}
	}
	res, err := s.table(ctx)
	if err != nil || !o.Console {
		return res, err
	}
	return res, s.consoles(ctx)
}

// consoles opens both consoles to the demo accounts, prints where they
// are, and waits for ctx to end.
func (s *story) consoles(ctx context.Context) error {
	pw := make([]byte, 9)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	c := Consoles{PostURL: "http://" + s.posts[0].APIAddr() + "/", HQURL: s.hq.ConsoleURL(), HQHTTPS: s.hq.URL() + "/", CAFile: s.caFile,
		User: "demo", Second: "demo2", Password: hex.EncodeToString(pw), HQ: s.hq}
	if _, err := daemon.ConsoleUsers(s.posts[0].Store(), nil).Add(ctx, c.User, web.RoleSupervisor, c.Password); err != nil {
		return fmt.Errorf("post console account: %w", err)
	}
	hqUsers := daemon.HQUsers(s.hq.Store(), nil)
	if _, err := hqUsers.Add(ctx, c.User, web.RoleAdmin, c.Password); err != nil {
		return fmt.Errorf("HQ console account: %w", err)
	}
	if _, err := hqUsers.Add(ctx, c.Second, web.RolePublisher, c.Password); err != nil {
		return fmt.Errorf("HQ console account: %w", err)
	}
	for _, p := range s.posts {
		c.Posts = append(c.Posts, p.Post)
	}
	c.StopPost = func(i int) { s.postsRun[i].stop() }
	s.say("")
	s.say("console: %s user: %s password: %s", c.PostURL, c.User, c.Password)
	s.say("hq console: %s user: %s password: %s (a second publisher, to approve what %s uploads: %s, same password)", c.HQURL, c.User, c.Password, c.User, c.Second)
	s.say("           plain HTTP on loopback for the demo only; HQ's HTTPS listener serves it too at %s with a certificate from the demo's own CA %s", c.HQHTTPS, c.CAFile)
	s.say("Press Ctrl-C to stop.")
	if s.o.Ready != nil {
		s.o.Ready(c)
	}
	<-ctx.Done()
	return nil
}

func (s *story) say(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }

// components are running parts of the demo: their context (which
// outlives Run's own: a cancelled demo still stops them in order) and
// their goroutines.
type components struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newComponents(ctx context.Context) *components {
	c := &components{}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return c
}

// launch runs a component's Run(ctx, ready) and waits until it is ready,
// has failed, or ctx ends.
func (c *components) launch(ctx context.Context, name string, run func(ctx context.Context, ready func()) error) error {
	ready := make(chan struct{})
	errc := make(chan error, 1)
	c.wg.Go(func() {
		if err := run(c.ctx, func() { close(ready) }); err != nil {
			errc <- err
		}
	})
	select {
	case <-ready:
		return nil
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop stops the components and waits for them.
func (c *components) stop() {
	c.cancel()
	c.wg.Wait()
}

// startHQ starts HQ: a signing key, the store, the embedded broker, HTTPS
// for snapshots and deltas with a throwaway CA, an admin token, the
// publisher and the server that stores hits and acks them.
func (s *story) startHQ(ctx context.Context) error {
	dir := filepath.Join(s.o.Dir, "hq")
	signer, err := publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		return err
	}
	caPEM, serverTLS, err := demoTLS()
	if err != nil {
		return err
	}
	s.signer, s.caFile = signer, filepath.Join(s.o.Dir, "hq-ca.pem")
	if err := os.WriteFile(s.caFile, caPEM, 0o600); err != nil {
		return err
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	consoleHTTP := ""
	if s.o.Console {
		consoleHTTP = "127.0.0.1:0"
	}
	h, err := daemon.NewHQ(daemon.HQConfig{ConsoleHTTP: consoleHTTP,
		DataDir: dir, Signer: signer, SelfSnapshotURL: true,
		EmbeddedBroker: &broker.Options{Addr: "127.0.0.1:0", AllowAnonymousLoopback: true},
		Listen:         "127.0.0.1:0", HTTPS: serverTLS, AdminToken: hex.EncodeToString(token), Clock: s.o.HQClock,
		MQTT: func(m *mqtt.Options) { *m = demoMQTT(*m) }, ConnectTimeout: s.o.Timeout, Logger: s.o.Logger,
	})
	if err != nil {
		return err
	}
	if err := s.hqRun.launch(ctx, "HQ", h.Run); err != nil {
		return err
	}
	s.hq = h
	brokerURL, _ := h.BrokerURLs()
	s.say("HQ     embedded MQTT broker at %s, HTTPS (snapshots, deltas) at %s, signing key %s", brokerURL, h.URL(), protocol.TrustedKey{Public: signer.Public()}.ID())
	return nil
}

// publishList: HQ publishes the UN list (the embedded sample's edition).
func (s *story) publishList(ctx context.Context) error {
	if err := importer.ReadUNXML(bytes.NewReader(sample.UNList), "un_consolidated.xml", func(e *engine.Entry) error {
		s.unEntries = append(s.unEntries, *e)
		return nil
	}); err != nil {
		return err
	}
	res, err := s.hq.Publisher().PublishEntries(ctx, publish.Edition{List: demoList, Source: "UN SC Consolidated List " + sample.UNListDate, Format: "un-xml", Action: "refer to secondary inspection"}, emitAll(s.unEntries))
	if err != nil {
		return err
	}
	s.say("HQ     published list %q version %d: %d entries, snapshot %d bytes, head %d bytes (Ed25519-signed)", demoList, res.Version, res.Entries, res.SnapshotBytes, res.HeadBytes)
	return nil
}

// startPosts starts two posts, each a daemon.Post with its own store and
// local API, and waits until both hold HQ's version.
func (s *story) startPosts(ctx context.Context) error {
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: s.signer.Public()})
	if err != nil {
		return err
	}
	brokerURL, _ := s.hq.BrokerURLs()
	for _, name := range []string{"post-north", "post-south"} {
		cfg := config.Default()
		cfg.PostID = name
		cfg.DataDir = filepath.Join(s.o.Dir, name)
		cfg.HQ.Brokers = []string{brokerURL}
		cfg.HQ.URL = s.hq.URL()
		cfg.HQ.CAFile = s.caFile
		cfg.HQ.KeySet = keys
		cfg.Lists = []string{demoList}
		cfg.StatusInterval = config.Duration(2 * time.Second)
		cfg.StopTimeout = config.Duration(5 * time.Second)
		cfg.API.Listen = "127.0.0.1:0"
		p, err := daemon.NewPost(cfg, daemon.PostOptions{Software: "demo", Logger: s.o.Logger.With(logkey.Post, name), MQTT: func(m *mqtt.Options) { *m = demoMQTT(*m) }, RebuildDelay: 50 * time.Millisecond})
		if err != nil {
			return err
		}
		run := newComponents(ctx)
		s.postsRun = append(s.postsRun, run)
		if err := run.launch(ctx, name, p.Run); err != nil {
			return err
		}
		s.posts = append(s.posts, &post{name: name, Post: p})
	}
	if err := s.waitConverged(ctx); err != nil {
		return err
	}
	for _, p := range s.posts {
		st, _ := p.SyncStatus()
		s.say("%-6s synced %q version %d (%d entries) by snapshot over HTTPS; hash matches HQ's signed hash", p.short(), demoList, st.Lists[0].Version, st.Lists[0].Entries)
	}
	return nil
}

// screenManifest: post north screens flight WP101's manifest (PAXLST)
// on its local API; its hits reach HQ.
func (s *story) screenManifest(ctx context.Context) error {
	manifest, flight, err := demoManifest()
	if err != nil {
		return err
	}
	north := s.posts[0]
	mr, err := postManifest(ctx, "http://"+north.APIAddr()+"/v1/manifests", manifest)
	if err != nil {
		return err
	}
	for _, r := range mr.Results {
		if r.HitID == "" {
			continue
		}
		s.recorded++
		h := r.Hits[0]
		s.say("north  HIT %s  %-8s %.2f  %s %s %q  (hit %s; an officer decides)", flight, strings.ToUpper(string(h.Band)), h.Score, h.List, h.EntryID, h.MatchedName, r.HitID)
	}
	s.say("north  screened %d travellers of flight %s (%d bytes of PAXLST, POST /v1/manifests on the post's local API): %d hits recorded and queued for HQ", mr.Travellers, flight, len(manifest), s.recorded)
	if err := waitUntil(ctx, s.o.Timeout, "hits stored at HQ", func() error {
		recs, err := s.hitsAtHQ(ctx)
		if err != nil {
			return err
		}
		if len(recs) != s.recorded {
			return fmt.Errorf("HQ holds %d hits of %d", len(recs), s.recorded)
		}
		if d := north.Outbox().Depth(); d.High != 0 {
			return fmt.Errorf("%d hits not acknowledged yet", d.High)
		}
		return nil
	}); err != nil {
		return err
	}
	s.say("HQ     stored %d hits from post-north (deduplicated by id) and acknowledged them; the post's outbox is empty", s.recorded)
	return nil
}

// added is the national addition of the update.
var added = engine.Entry{ID: "NAT-0001", Kind: engine.KindPerson, Names: []engine.Name{{Value: "Viktor Demo Wanted", Kind: engine.NamePrimary}},
	BirthDates: []engine.BirthDate{mustBirthDate("1970-04-12")}, Nationalities: []string{"UKR"}, Remarks: "demo: national wanted-persons addition"}

// publishUpdate: HQ publishes an update, one national addition and one
// removal, and both posts apply the signed delta.
func (s *story) publishUpdate(ctx context.Context) error {
	removed := s.unEntries[len(s.unEntries)-1]
	next := append(append([]engine.Entry(nil), s.unEntries[:len(s.unEntries)-1]...), added)
	res, err := s.hq.Publisher().PublishEntries(ctx, publish.Edition{List: demoList, Source: "UN list + national addition", Format: "un-xml"}, emitAll(next))
	if err != nil {
		return err
	}
	s.say("HQ     published version %d: added %s, removed %s; delta %d bytes (%.2f%% of the %d-byte snapshot)",
		res.Version, added.ID, removed.ID, res.DeltaBytes, 100*float64(res.DeltaBytes)/float64(res.SnapshotBytes), res.SnapshotBytes)
	if err := s.waitConverged(ctx); err != nil {
		return err
	}
	s.say("both   posts applied the signed delta and hold version %d; hashes match HQ's", res.Version)
	return nil
}

// screenAddition: post south screens the newly added person; the hit
// reaches HQ.
func (s *story) screenAddition(ctx context.Context) error {
	south := s.posts[1]
	q := engine.Query{Name: "Viktor Demo Wanted", BirthDate: "1970-04-12"}
	hits, rec, err := south.ScreenAndRecord(ctx, ledger.SourceDemo, "", "demo", &q)
	if err != nil {
		return err
	}
	if rec.HitID == "" || hits[0].EntryID != added.ID {
		return fmt.Errorf("south: the added entry %s did not hit (%d hits)", added.ID, len(hits))
	}
	s.say("south  HIT %-8s %.2f  %s %s (added in version %d)", strings.ToUpper(string(hits[0].Band)), hits[0].Score, hits[0].List, hits[0].EntryID, hits[0].ListVersion)
	s.recorded++
	return waitUntil(ctx, s.o.Timeout, "south's hit at HQ", func() error {
		recs, err := s.hitsAtHQ(ctx)
		if err != nil {
			return err
		}
		if d := south.Outbox().Depth(); d.High != 0 {
			return fmt.Errorf("%d hits not acknowledged yet", d.High)
		}
		for _, r := range recs {
			if r.ID == rec.HitID {
				return nil
			}
		}
		return errors.New("not yet")
	})
}

// table prints the final table and returns the final state.
func (s *story) table(ctx context.Context) (*Result, error) {
	hqList, err := s.hq.Store().List(demoList)
	if err != nil {
		return nil, err
	}
	atHQ, err := s.hitsAtHQ(ctx)
	if err != nil {
		return nil, err
	}
	result := &Result{HitsRecorded: s.recorded, HitsAtHQ: len(atHQ), Version: hqList.Version, Hash: hqList.Hash}
	s.say("")
	s.say("%-11s %-8s %-18s %-8s %-10s %-10s", "post", "version", "hash", "entries", "hits sent", "outbox")
	for _, p := range s.posts {
		st, _ := p.SyncStatus()
		l := st.Lists[0]
		sent := 0
		for _, r := range atHQ {
			if r.Post == p.name {
				sent++
			}
		}
		ps := PostState{Name: p.name, Version: l.Version, Hash: l.Hash, Entries: l.Entries, HitsSent: sent, OutboxPending: p.Outbox().Depth().High}
		result.Posts = append(result.Posts, ps)
		s.say("%-11s %-8d %-18s %-8d %-10d %-10d", ps.Name, ps.Version, shortHash(ps.Hash), ps.Entries, ps.HitsSent, ps.OutboxPending)
	}
	s.say("%-11s %-8d %-18s %-8d %-10s", "HQ", hqList.Version, shortHash(hqList.Hash), hqList.Entries, fmt.Sprintf("%d stored", len(atHQ)))
	s.say("")
	s.say("Hits recorded at the posts: %d; stored at HQ: %d. Done in %s.", s.recorded, len(atHQ), time.Since(s.start).Round(time.Millisecond))
	return result, nil
}

// hitsAtHQ returns the hit records HQ stored.
func (s *story) hitsAtHQ(ctx context.Context) ([]hqserver.Record, error) {
	return s.hq.Server().Hits(ctx, hqserver.HitFilter{Kind: protocol.RecordHit.String(), Limit: 1000})
}

// waitConverged waits until every post holds HQ's version and hash and
// screens on it.
func (s *story) waitConverged(ctx context.Context) error {
	return waitUntil(ctx, s.o.Timeout, "posts converge on HQ's version", func() error {
		want, err := s.hq.Store().List(demoList)
		if err != nil {
			return err
		}
		for _, p := range s.posts {
			st, ok := p.SyncStatus()
			if !ok || len(st.Lists) == 0 {
				return fmt.Errorf("%s: no list yet", p.name)
			}
			l := st.Lists[0]
			if l.Version != want.Version || l.Hash != want.Hash {
				return fmt.Errorf("%s holds version %d, HQ %d", p.name, l.Version, want.Version)
			}
			indexed := false
			for _, in := range p.Indexed() {
				indexed = indexed || (in.Name == demoList && in.Hash == want.Hash)
			}
			if !indexed {
				return fmt.Errorf("%s: screening index not rebuilt yet", p.name)
			}
		}
		return nil
	})
}

func (p *post) short() string { return strings.TrimPrefix(p.name, "post-") }

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

func mustBirthDate(s string) engine.BirthDate {
	d, err := engine.ParseBirthDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func emitAll(entries []engine.Entry) func(emit func(*engine.Entry) error) error {
	return func(emit func(*engine.Entry) error) error {
		for i := range entries {
			if err := emit(&entries[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// demoMQTT shortens the MQTT timeouts for a loopback demo.
func demoMQTT(m mqtt.Options) mqtt.Options {
	m.KeepAlive = 10 * time.Second
	m.PingTimeout = 5 * time.Second
	m.ConnectTimeout = 5 * time.Second
	m.WriteTimeout = 5 * time.Second
	m.ConnectRetryInterval = 200 * time.Millisecond
	m.MaxReconnectInterval = time.Second
	return m
}

// waitUntil polls cond until it returns nil, ctx ends or d passes.
func waitUntil(ctx context.Context, d time.Duration, what string, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not reached within %s: %w", what, d, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// demoManifest returns a PAXLST manifest of flight WP101 with 40
// generated passengers, three of whom are on the UN list.
func demoManifest() ([]byte, string, error) {
	ic := paxlst.Generate(2026, 40, paxlst.WithDeparture(time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)))
	m := &ic.Messages[0]
	flight := "WP101"
	for i := range m.Flights {
		m.Flights[i].Number = flight
	}
	listed := []paxlst.Traveller{
		{Surname: "HOJATI", GivenNames: "MOHSEN", BirthDate: "1955-09-28", Sex: "M", Nationality: "IRN"},
		{Surname: "GADDAFI", GivenNames: "SAADI", BirthDate: "1973-05-27", Sex: "M", Nationality: "LBY"},
		{Surname: "MOTASSADEQ", GivenNames: "MOUNIR", BirthDate: "1974-04-03", Sex: "M", Nationality: "MAR",
			Documents: []paxlst.Document{{Type: "P", Number: "H236483", IssuingState: "MAR", ExpiryDate: "2030-01-01"}}},
	}
	for i, l := range listed {
		t := &m.Travellers[5+i*11]
		t.Surname, t.GivenNames, t.BirthDate, t.Sex, t.Nationality = l.Surname, l.GivenNames, l.BirthDate, l.Sex, l.Nationality
		if l.Documents != nil {
			t.Documents = l.Documents
		}
	}
	var buf bytes.Buffer
	if err := paxlst.Write(&buf, ic, paxlst.WriteOptions{}); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), flight, nil
}

// demoTLS makes a throwaway CA and a server certificate for 127.0.0.1,
// valid for a day: HQ's HTTPS in the demo. It returns the CA's PEM (the
// posts' hq.ca_file) and the server configuration.
func demoTLS() ([]byte, *tls.Config, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Watchpost demo CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hq.demo"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return caPEM, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// postManifest sends a PAXLST manifest to a post's local API.
func postManifest(ctx context.Context, url string, body []byte) (*api.ManifestResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/edifact")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", url, resp.Status, b)
	}
	var mr api.ManifestResult
	if err := json.Unmarshal(b, &mr); err != nil {
		return nil, fmt.Errorf("POST %s: %w", url, err)
	}
	return &mr, nil
}
