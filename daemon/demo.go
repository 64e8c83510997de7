package daemon

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
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

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/paxlst"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/hq"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
)

// DemoOptions configure RunDemo.
type DemoOptions struct {
	// Dir is the working directory (HQ's and the posts' data); it must
	// exist and be empty.
	Dir string
	// Logger receives the components' logs (discarded when nil: the demo
	// prints its own story).
	Logger *slog.Logger
	// Timeout bounds each wait (60 s when 0).
	Timeout time.Duration
}

// DemoResult is what the demo ended with, for its tests.
type DemoResult struct {
	Posts []DemoPost
	// HitsRecorded is the hits recorded at the posts; HitsAtHQ the hit
	// records HQ stored (each once).
	HitsRecorded, HitsAtHQ int
	// Version and Hash are HQ's final version of the list.
	Version uint64
	Hash    string
}

// DemoPost is one post's final state.
type DemoPost struct {
	Name          string
	Version       uint64
	Hash          string
	Entries       int
	HitsSent      int
	OutboxPending int
}

const demoList = "un"

// RunDemo tells Watchpost's whole story on one machine: an in-process HQ
// with an embedded MQTT broker and HTTPS server publishes the UN list, two
// posts sync it, one screens a flight manifest, its hits reach HQ, HQ
// publishes an update (an addition and a removal), both posts converge. It
// prints each step to out and returns the final state.
func RunDemo(ctx context.Context, out io.Writer, o DemoOptions) (*DemoResult, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	start := time.Now()

	// HQ: signing key, store, embedded broker, HTTPS for snapshots and
	// deltas, the publisher and the server that stores hits and acks them.
	hqDir := filepath.Join(o.Dir, "hq")
	signer, err := hq.Keygen(filepath.Join(hqDir, "keys"))
	if err != nil {
		return nil, err
	}
	hqStore, err := badgerstore.Open(filepath.Join(hqDir, "store"), badgerstore.Options{Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	defer hqStore.Close()
	brk, err := broker.Start(ctx, broker.Options{Addr: "127.0.0.1:0", AllowAnonymousLoopback: true, Logger: o.Logger.With(logkey.Component, "broker")})
	if err != nil {
		return nil, err
	}
	defer brk.Close()
	caPEM, serverTLS, err := demoTLS()
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(o.Dir, "hq-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		return nil, err
	}
	hqURL := "https://" + ln.Addr().String()
	hqClient, err := mqtt.New(demoMQTT(mqtt.Options{Brokers: []string{brk.URL()}, ClientID: "watchpost-hq-demo", Logger: o.Logger}))
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		hqClient.Close(cctx)
	}()
	snapDir, deltaDir := filepath.Join(hqDir, "snapshots"), filepath.Join(hqDir, "deltas")
	if err := os.MkdirAll(snapDir, 0o750); err != nil {
		return nil, err
	}
	pub, err := hq.New(hq.Config{Store: hqStore, Signer: signer, Transport: hqClient, DeltaDir: deltaDir,
		SnapshotDir: snapDir, SnapshotBaseURL: hqURL + "/snapshots", Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	srv, err := hqserver.New(hqserver.Config{Store: hqStore, Transport: hqClient, Publisher: pub,
		SnapshotDir: snapDir, DeltaDir: deltaDir, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	if err := hqClient.Start(); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn)}
	wg.Go(func() { hs.Serve(ln) })
	wg.Go(func() {
		<-runCtx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	})
	wg.Go(func() {
		if err := srv.Run(runCtx); err != nil {
			o.Logger.Error("HQ server stopped", logkey.Error, err)
		}
	})
	if err := waitUntil(ctx, o.Timeout, "HQ connected to the broker", func() error {
		if !hqClient.Connected() {
			return errors.New("not connected")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	say("HQ     embedded MQTT broker at %s, HTTPS (snapshots, deltas) at %s, signing key %s", brk.URL(), hqURL, protocol.TrustedKey{Public: signer.Public()}.ID())

	// HQ publishes the UN list (edition of the embedded sample).
	var unEntries []engine.Entry
	if err := importer.ReadUNXML(bytes.NewReader(sample.UNList), "un_consolidated.xml", func(e *engine.Entry) error {
		unEntries = append(unEntries, *e)
		return nil
	}); err != nil {
		return nil, err
	}
	res, err := pub.PublishEntries(ctx, hq.Edition{List: demoList, Source: "UN SC Consolidated List " + sample.UNListDate, Format: "un-xml", Action: "refer to secondary inspection"}, emitAll(unEntries))
	if err != nil {
		return nil, err
	}
	say("HQ     published list %q version %d: %d entries, snapshot %d bytes, head %d bytes (Ed25519-signed)", demoList, res.Version, res.Entries, res.SnapshotBytes, res.HeadBytes)

	// Two posts, each a full daemon.Post with its own store.
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: signer.Public()})
	if err != nil {
		return nil, err
	}
	names := []string{"post-north", "post-south"}
	posts := make([]*Post, len(names))
	for i, name := range names {
		cfg := config.Default()
		cfg.PostID = name
		cfg.DataDir = filepath.Join(o.Dir, name)
		cfg.HQ.Brokers = []string{brk.URL()}
		cfg.HQ.URL = hqURL
		cfg.HQ.CAFile = caFile
		cfg.HQ.KeySet = keys
		cfg.Lists = []string{demoList}
		cfg.StatusInterval = config.Duration(2 * time.Second)
		cfg.StopTimeout = config.Duration(5 * time.Second)
		cfg.API.Listen = "127.0.0.1:0"
		p, err := NewPost(cfg, PostOptions{Software: "demo", Logger: o.Logger.With(logkey.Post, name), MQTT: func(m *mqtt.Options) { *m = demoMQTT(*m) }, RebuildDelay: 50 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		posts[i] = p
		ready := make(chan struct{})
		errc := make(chan error, 1)
		wg.Go(func() {
			errc <- p.Run(runCtx, func() { close(ready) })
		})
		select {
		case <-ready:
		case err := <-errc:
			return nil, fmt.Errorf("%s: %w", name, err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	hqInfo := func() (engine.ListInfo, error) { return hqStore.List(demoList) }
	if err := waitConverged(ctx, o.Timeout, posts, hqInfo); err != nil {
		return nil, err
	}
	for _, p := range posts {
		st, _ := p.SyncStatus()
		say("%-6s synced %q version %d (%d entries) by snapshot over HTTPS; hash matches HQ's signed hash", shortPost(p), demoList, st.Lists[0].Version, st.Lists[0].Entries)
	}

	// Post north screens flight WP101's manifest (PAXLST).
	manifest, flight, err := demoManifest()
	if err != nil {
		return nil, err
	}
	north, south := posts[0], posts[1]
	mr, err := postManifest(ctx, "http://"+north.APIAddr()+"/v1/manifests", manifest)
	if err != nil {
		return nil, err
	}
	recorded := 0
	screened := mr.Travellers
	for _, r := range mr.Results {
		if r.HitID == "" {
			continue
		}
		recorded++
		h := r.Hits[0]
		say("north  HIT %s  %-8s %.2f  %s %s %q  (hit %s; an officer decides)", flight, strings.ToUpper(string(h.Band)), h.Score, h.List, h.EntryID, h.MatchedName, r.HitID)
	}
	say("north  screened %d travellers of flight %s (%d bytes of PAXLST, POST /v1/manifests on the post's local API): %d hits recorded and queued for HQ", screened, flight, len(manifest), recorded)

	if err := waitUntil(ctx, o.Timeout, "hits stored at HQ", func() error {
		recs, err := srv.Hits(ctx, hqserver.HitFilter{Kind: "hit", Limit: 1000})
		if err != nil {
			return err
		}
		if len(recs) != recorded {
			return fmt.Errorf("HQ holds %d hits of %d", len(recs), recorded)
		}
		if d := north.Outbox().Depth(); d.High != 0 {
			return fmt.Errorf("%d hits not acknowledged yet", d.High)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	say("HQ     stored %d hits from post-north (deduplicated by id) and acknowledged them; the post's outbox is empty", recorded)

	// HQ publishes an update: one national addition, one removal.
	removed := unEntries[len(unEntries)-1]
	next := append([]engine.Entry(nil), unEntries[:len(unEntries)-1]...)
	added := engine.Entry{ID: "NAT-0001", Kind: engine.KindPerson, Names: []engine.Name{{Value: "Viktor Demo Wanted", Kind: engine.NamePrimary}},
		BirthDates: []engine.BirthDate{mustBirthDate("1970-04-12")}, Nationalities: []string{"UKR"}, Remarks: "demo: national wanted-persons addition"}
	next = append(next, added)
	res, err = pub.PublishEntries(ctx, hq.Edition{List: demoList, Source: "UN list + national addition", Format: "un-xml"}, emitAll(next))
	if err != nil {
		return nil, err
	}
	say("HQ     published version %d: added %s, removed %s; delta %d bytes (%.2f%% of the %d-byte snapshot)",
		res.Version, added.ID, removed.ID, res.DeltaBytes, 100*float64(res.DeltaBytes)/float64(res.SnapshotBytes), res.SnapshotBytes)
	if err := waitConverged(ctx, o.Timeout, posts, hqInfo); err != nil {
		return nil, err
	}
	say("both   posts applied the signed delta and hold version %d; hashes match HQ's", res.Version)

	// Post south screens the newly added person.
	q := engine.Query{Name: "Viktor Demo Wanted", BirthDate: "1970-04-12"}
	hits, rec, err := south.ScreenAndRecord(ctx, ledger.SourceDemo, "", "demo", &q)
	if err != nil {
		return nil, err
	}
	if rec.HitID == "" || hits[0].EntryID != added.ID {
		return nil, fmt.Errorf("south: the added entry %s did not hit (%d hits)", added.ID, len(hits))
	}
	say("south  HIT %-8s %.2f  %s %s (added in version %d)", strings.ToUpper(string(hits[0].Band)), hits[0].Score, hits[0].List, hits[0].EntryID, hits[0].ListVersion)
	recorded++
	if err := waitUntil(ctx, o.Timeout, "south's hit at HQ", func() error {
		recs, err := srv.Hits(ctx, hqserver.HitFilter{Kind: "hit", Limit: 1000})
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
	}); err != nil {
		return nil, err
	}

	// Final table.
	hqList, err := hqStore.List(demoList)
	if err != nil {
		return nil, err
	}
	atHQ, err := srv.Hits(ctx, hqserver.HitFilter{Kind: "hit", Limit: 1000})
	if err != nil {
		return nil, err
	}
	result := &DemoResult{HitsRecorded: recorded, HitsAtHQ: len(atHQ), Version: hqList.Version, Hash: hqList.Hash}
	say("")
	say("%-11s %-8s %-18s %-8s %-10s %-10s", "post", "version", "hash", "entries", "hits sent", "outbox")
	for _, p := range posts {
		st, _ := p.SyncStatus()
		l := st.Lists[0]
		sent := 0
		for _, r := range atHQ {
			if r.Post == p.cfg.PostID {
				sent++
			}
		}
		dp := DemoPost{Name: p.cfg.PostID, Version: l.Version, Hash: l.Hash, Entries: l.Entries, HitsSent: sent, OutboxPending: p.Outbox().Depth().High}
		result.Posts = append(result.Posts, dp)
		say("%-11s %-8d %-18s %-8d %-10d %-10d", dp.Name, dp.Version, shortHash(dp.Hash), dp.Entries, dp.HitsSent, dp.OutboxPending)
	}
	say("%-11s %-8d %-18s %-8d %-10s", "HQ", hqList.Version, shortHash(hqList.Hash), hqList.Entries, fmt.Sprintf("%d stored", len(atHQ)))
	say("")
	say("Hits recorded at the posts: %d; stored at HQ: %d. Done in %s.", recorded, len(atHQ), time.Since(start).Round(time.Millisecond))
	return result, nil
}

func shortPost(p *Post) string { return strings.TrimPrefix(p.cfg.PostID, "post-") }

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

// waitConverged waits until every post holds HQ's version and hash.
func waitConverged(ctx context.Context, d time.Duration, posts []*Post, hqInfo func() (engine.ListInfo, error)) error {
	return waitUntil(ctx, d, "posts converge on HQ's version", func() error {
		want, err := hqInfo()
		if err != nil {
			return err
		}
		for _, p := range posts {
			st, ok := p.SyncStatus()
			if !ok || len(st.Lists) == 0 {
				return fmt.Errorf("%s: no list yet", p.cfg.PostID)
			}
			l := st.Lists[0]
			if l.Version != want.Version || l.Hash != want.Hash {
				return fmt.Errorf("%s holds version %d, HQ %d", p.cfg.PostID, l.Version, want.Version)
			}
			indexed := false
			for _, in := range p.Indexed() {
				indexed = indexed || (in.Name == demoList && in.Hash == want.Hash)
			}
			if !indexed {
				return fmt.Errorf("%s: screening index not rebuilt yet", p.cfg.PostID)
			}
		}
		return nil
	})
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
