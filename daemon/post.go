package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/intake"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/service"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/sync/agent"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/snapshot"
)

// purgeInterval is how often screening data past its retention is deleted.
const purgeInterval = 10 * time.Minute

// DefaultDiskCheckInterval is how often a running post measures its free
// disk space against the store's reserve (every write measures it too):
// it logs the change, and when space is back it resumes replication.
const DefaultDiskCheckInterval = 10 * time.Second

// PostOptions are what a Post needs besides its configuration.
type PostOptions struct {
	// Software is the version string reported to HQ.
	Software string
	// Logger; nil discards.
	Logger *slog.Logger
	// Clock; nil means the system clock.
	Clock clock.Clock
	// MQTT, if set, adjusts the MQTT options built from the configuration
	// (the demo and tests shorten the timeouts).
	MQTT func(*mqtt.Options)
	// RebuildDelay is how long list changes other than deltas
	// (snapshots, imports, deletions) are gathered before the screening
	// index is rebuilt (1 s when 0); deltas are applied in place at once.
	RebuildDelay time.Duration
	// FreeSpace measures the free space of the data directory's file
	// system (badgerstore.DiskFree when nil); tests inject it.
	FreeSpace func(dir string) (uint64, error)
	// DiskCheckInterval: DefaultDiskCheckInterval when 0.
	DiskCheckInterval time.Duration
}

// Post is one border post: its store, screening index, outbox and link to
// HQ, wired from a configuration. Run is the single entry point of
// `watchpost run` and of the service.
type Post struct {
	cfg  *config.Config
	opts PostOptions
	log  *slog.Logger

	screener   atomic.Pointer[match.Screener]
	screenings atomic.Uint64
	lastScreen atomic.Int64

	mu      sync.Mutex
	store   *badgerstore.Store
	ob      *outbox.Outbox
	agent   *agent.Agent
	client  *mqtt.Client
	fetcher *snapshot.Fetcher
	ledger  *ledger.Ledger
	apiAddr string

	rebuild chan struct{}
	deltas  deltaQueue
}

// NewPost returns a post for cfg (already loaded and checked).
func NewPost(cfg *config.Config, opts PostOptions) (*Post, error) {
	if cfg == nil || cfg.PostID == "" {
		return nil, errors.New("post: no post_id in the configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.RebuildDelay <= 0 {
		opts.RebuildDelay = time.Second
	}
	if opts.DiskCheckInterval <= 0 {
		opts.DiskCheckInterval = DefaultDiskCheckInterval
	}
	return &Post{cfg: cfg, opts: opts, log: opts.Logger, rebuild: make(chan struct{}, 1), deltas: deltaQueue{wake: make(chan struct{}, 1)}}, nil
}

// Run opens the store, builds the screening index, starts the link to HQ
// and calls ready once screening is possible. It runs until ctx ends,
// then stops in two stages: it gives the outbox up to the configured stop
// timeout to deliver hits to HQ, then stops the link and closes the store.
func (p *Post) Run(ctx context.Context, ready func()) (err error) {
	st, err := p.openStore()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	st.OnEntriesUpdated(p.deltas.add) // before the load: a delta it already holds is skipped
	defer st.OnEntriesUpdated(nil)
	if err := p.loadScreener(ctx); err != nil {
		return err
	}
	ob, led, err := p.openRecords(ctx, st)
	if err != nil {
		return err
	}
	r := p.newRun()
	defer r.shutdown(false) // an error return: the same shutdown without the flush
	r.startHousekeeping(led)
	r.wg.Go(func() { p.watchDisk(r.ctx, st) })
	if err := r.startLink(ctx, st, ob); err != nil {
		return err
	}
	if err := r.startIntake(); err != nil {
		return err
	}
	if err := r.startAPI(st, ob, led); err != nil {
		return err
	}
	p.log.Info("post running", logkey.Post, p.cfg.PostID, logkey.Lists, p.listNames(), logkey.Brokers, len(p.cfg.HQ.Brokers))
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	r.shutdown(true)
	p.log.Info("post stopped")
	return nil
}

// openStore checks the data directory and opens the store in it.
func (p *Post) openStore() (*badgerstore.Store, error) {
	if err := checkDataDir(p.cfg.DataDir); err != nil {
		return nil, service.WithExitCode(cmdline.ExitDataDir, err)
	}
	st, err := OpenStoreWith(p.cfg.DataDir, StoreOptions{
		Key: p.cfg.Store.Key(), Logger: p.log, DiskReserve: p.cfg.Store.DiskReserve.Bytes(), FreeSpace: p.opts.FreeSpace,
	})
	if err != nil {
		return nil, service.WithExitCode(cmdline.ExitStore, err)
	}
	p.mu.Lock()
	p.store = st
	p.mu.Unlock()
	return st, nil
}

// openRecords opens the outbox to HQ and the ledger of screenings and
// hits in the store.
func (p *Post) openRecords(ctx context.Context, st *badgerstore.Store) (*outbox.Outbox, *ledger.Ledger, error) {
	cfg := p.cfg
	ob, err := outbox.Open(ctx, st, outbox.Options{
		Budget: int64(cfg.Outbox.Budget), Clock: p.opts.Clock, Logger: p.log.With(logkey.Component, "outbox"),
		OnAlarm: func(over bool, d outbox.Depth) {
			if over {
				p.log.Warn("outbox over its budget: telemetry is being dropped, hits are kept", logkey.Records, d.Records, logkey.Bytes, d.Bytes, logkey.Budget, d.Budget)
			} else {
				p.log.Info("outbox back under its budget", logkey.Records, d.Records, logkey.Bytes, d.Bytes)
			}
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	led, err := ledger.Open(ctx, st, ob, ledger.Options{
		Post: cfg.PostID, Clock: p.opts.Clock, Logger: p.log.With(logkey.Component, "ledger"),
		Retention: time.Duration(cfg.Screening.Retention), HitRetention: time.Duration(cfg.Screening.HitRetention),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: %w", err)
	}
	p.mu.Lock()
	p.ob, p.ledger = ob, led
	p.mu.Unlock()
	return ob, led, nil
}

// postRun is what one Run started, and its ordered stop: intake and API
// first (no new screening), then, on a normal stop only, a bounded flush
// of the outbox to HQ, then the goroutines and the MQTT link; Run's
// deferred close of the store comes last.
type postRun struct {
	p *Post
	// ctx ends, and wg waits for, the background goroutines (index
	// rebuilds, retention purge, the agent, metrics).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// intakeCtx ends, and front waits for, what screens: the folder
	// intake and the API server.
	intakeCtx  context.Context
	stopIntake context.CancelFunc
	front      sync.WaitGroup

	agent       *agent.Agent
	api         *api.Server
	stopTimeout time.Duration
	stopped     bool
}

func (p *Post) newRun() *postRun {
	r := &postRun{p: p, stopTimeout: time.Duration(p.cfg.StopTimeout)}
	if r.stopTimeout <= 0 {
		r.stopTimeout = 10 * time.Second
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.intakeCtx, r.stopIntake = context.WithCancel(r.ctx)
	return r
}

// shutdown stops what Run started, once. Half the stop budget goes to HQ
// receiving what is queued (the outbox is on disk: a cut-short flush
// loses nothing), a quarter to the MQTT close, the rest to the store.
func (r *postRun) shutdown(flush bool) {
	if r.stopped {
		return
	}
	r.stopped = true
	r.stopIntake()
	if r.api != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := r.api.Shutdown(sctx); err != nil {
			r.p.log.Warn("API shutdown", logkey.Error, err)
		}
		scancel()
	}
	r.front.Wait()
	if flush && r.agent != nil {
		fctx, fcancel := context.WithTimeout(context.Background(), r.stopTimeout/2)
		if err := r.agent.Flush(fctx); err != nil {
			r.p.log.Warn("stopping with records for HQ still queued (sent after the next start)", logkey.Error, err)
		}
		fcancel()
	}
	r.cancel()
	r.wg.Wait()
	if c := r.p.mqttClient(); c != nil {
		cctx, ccancel := context.WithTimeout(context.Background(), r.stopTimeout/4)
		if err := c.Close(cctx); err != nil {
			r.p.log.Warn("closing the MQTT link", logkey.Error, err)
		}
		ccancel()
	}
	if f := guarded(&r.p.mu, &r.p.fetcher); f != nil {
		f.CloseIdleConnections()
	}
}

// startHousekeeping starts the index's upkeep after list changes (deltas
// in place, rebuilds, compaction), the retention purge of the ledger, its
// audit checkpoints and its group commit.
func (r *postRun) startHousekeeping(led *ledger.Ledger) {
	r.wg.Go(func() { r.p.indexLoop(r.ctx) })
	r.wg.Go(func() {
		if err := led.RunPurge(r.ctx, purgeInterval); err != nil {
			r.p.log.Error("retention purge stopped", logkey.Error, err)
		}
	})
	r.wg.Go(func() {
		// Screenings without a hit are committed in groups; the loop's
		// last commit comes before the store is closed.
		if err := led.RunGroupCommit(r.ctx); err != nil {
			r.p.log.Error("group commit of screenings stopped", logkey.Error, err)
		}
	})
	r.wg.Go(func() {
		if err := led.RunCheckpoints(r.ctx, ledger.DefaultCheckpointInterval); err != nil {
			r.p.log.Error("audit checkpoints stopped", logkey.Error, err)
		}
	})
}

// startLink starts the link to HQ, when brokers are configured.
func (r *postRun) startLink(ctx context.Context, st *badgerstore.Store, ob *outbox.Outbox) error {
	if len(r.p.cfg.HQ.Brokers) == 0 {
		r.p.log.Warn("no hq.brokers configured: screening on the lists held, nothing is sent to HQ")
		return nil
	}
	ag, err := r.p.startLink(ctx, st, ob)
	if err != nil {
		return err
	}
	r.agent = ag
	r.wg.Go(func() {
		if err := ag.Run(r.ctx); err != nil {
			r.p.log.Error("link to HQ stopped", logkey.Error, err)
		}
	})
	return nil
}

// startIntake starts the folder where airline and PIU systems drop
// files, when one is configured.
func (r *postRun) startIntake() error {
	cfg := r.p.cfg
	if cfg.Intake.Dir == "" {
		return nil
	}
	in, err := intake.New(intake.Options{
		Dir: cfg.Intake.Dir, Processor: intakeProcessor{r.p}, StableFor: time.Duration(cfg.Intake.StableFor),
		Interval: time.Duration(cfg.Intake.Interval), Clock: r.p.opts.Clock, Logger: r.p.log.With(logkey.Component, "intake"),
	})
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	r.front.Go(func() {
		if err := in.Run(r.intakeCtx); err != nil {
			r.p.log.Error("intake stopped", logkey.Error, err)
		}
	})
	return nil
}

// startAPI binds the local API, with the officer console under it, when
// enabled, before the post says it is ready (a bind error stops the
// start), and serves it.
func (r *postRun) startAPI(st *badgerstore.Store, ob *outbox.Outbox, led *ledger.Ledger) error {
	p, cfg := r.p, r.p.cfg
	if !cfg.API.Enabled() {
		return nil
	}
	tokens := make([]api.Token, len(cfg.API.Tokens))
	for i, t := range cfg.API.Tokens {
		name := fmt.Sprintf("token-%d", i+1)
		if i < len(cfg.API.TokenNames) {
			name = cfg.API.TokenNames[i]
		}
		tokens[i] = api.Token{Name: name, Secret: t.Reveal()}
	}
	console, err := p.newConsole(st)
	if err != nil {
		return fmt.Errorf("officer console: %w", err)
	}
	srv, err := api.New(api.Options{
		Addr: cfg.API.Listen, Tokens: tokens, Screener: apiScreener{p}, Ledger: apiLedger{led},
		Status: apiStatus{p}, Readiness: apiStatus{p}, Logger: p.log.With(logkey.Component, "api"), Clock: p.opts.Clock,
		Console: console,
	})
	if err != nil {
		return service.WithExitCode(cmdline.ExitConfig, fmt.Errorf("api: %w", err))
	}
	if err := registerMetrics(srv.Metrics().Registerer(), r.agent, ob, led); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	r.api = srv
	p.mu.Lock()
	p.apiAddr = addr.String()
	p.mu.Unlock()
	r.front.Go(func() {
		if err := srv.Serve(); err != nil {
			p.log.Error("API server stopped", logkey.Error, err)
		}
	})
	r.wg.Go(func() { p.feedMetrics(r.ctx, srv.Metrics(), 5*time.Second) })
	p.log.Info("local API listening", logkey.Addr, addr.String(), logkey.Tokens, len(tokens))
	return nil
}

func (p *Post) mqttClient() *mqtt.Client { return guarded(&p.mu, &p.client) }

// startLink builds the replica applier, the MQTT client, the snapshot
// fetcher and the agent, and starts connecting (in the background: a
// post that boots offline keeps trying).
func (p *Post) startLink(ctx context.Context, st *badgerstore.Store, ob *outbox.Outbox) (*agent.Agent, error) {
	cfg := p.cfg
	keys, err := p.loadKeys()
	if err != nil {
		return nil, err
	}
	if len(cfg.Lists) == 0 {
		return nil, errors.New("hq.brokers is set but lists is empty: name the lists this post replicates")
	}
	app, err := replica.New(replica.FromBadger(st), replica.Config{
		Keys: keys, Lists: cfg.Lists, Logger: p.log.With(logkey.Component, "replica"),
		Clock: p.opts.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	boot, err := agent.NextBoot(ctx, st)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := p.tlsConfig()
	if err != nil {
		return nil, err
	}
	clientID, err := protocol.PostClientID(cfg.PostID)
	if err != nil {
		return nil, err
	}
	presence, err := agent.Presence(cfg.PostID, boot)
	if err != nil {
		return nil, err
	}
	mo := mqtt.Options{
		Brokers: cfg.HQ.Brokers, ClientID: clientID, Username: cfg.HQ.Username, Password: cfg.HQ.Password.Reveal(),
		TLS: tlsCfg, KeepAlive: time.Duration(cfg.HQ.KeepAlive), ConnectTimeout: time.Duration(cfg.HQ.ConnectTimeout),
		Presence: presence, Logger: p.log, // sync/mqtt adds component=mqtt itself
	}
	if p.opts.MQTT != nil {
		p.opts.MQTT(&mo)
	}
	client, err := mqtt.New(mo)
	if err != nil {
		return nil, err
	}
	// One HTTPS client for HQ's files, snapshots and deltas alike; none
	// without HQ's CA.
	var fetcher *snapshot.Fetcher
	deltaURL := ""
	if tlsCfg != nil {
		fetcher, err = snapshot.New(snapshot.Options{TLS: tlsCfg, Logger: p.log.With(logkey.Component, "snapshot")})
		if err != nil {
			return nil, err
		}
		deltaURL = cfg.HQ.URL
	}
	ag, err := agent.New(agent.Config{
		Post: cfg.PostID, Boot: boot, Software: p.opts.Software,
		Transport: client, Applier: app, Keys: keys, OnKeysChanged: p.saveKeys,
		AuditKey: protocol.FormatPublicKey(p.Ledger().AuditKey()),
		Fetcher:  fetcher, WorkDir: filepath.Join(cfg.DataDir, snapshotSubdir),
		DeltaBaseURL: deltaURL,
		Outbox:       ob, Store: st, StatusInterval: time.Duration(cfg.StatusInterval),
		Screenings: p.Screenings, OnListChanged: func(string) { p.requestRebuild() },
		Room:  st.CheckSpace,
		Clock: p.opts.Clock, Logger: p.log,
	})
	if err != nil {
		return nil, err
	}
	if err := ag.Subscribe(); err != nil {
		return nil, err
	}
	if err := client.Start(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.client, p.agent, p.fetcher = client, ag, fetcher
	p.mu.Unlock()
	return ag, nil
}

// loadKeys reads HQ's keys: the configured ones, plus those learned by
// rotation (kept in the data directory).
func (p *Post) loadKeys() (*protocol.KeySet, error) {
	cfg := p.cfg
	ks := cfg.HQ.KeySet // parsed by config.Load
	if ks == nil {
		var err error
		if ks, err = parseKeys(cfg); err != nil {
			return nil, err
		}
	}
	learned := filepath.Join(cfg.DataDir, learnedKeys)
	if b, err := os.ReadFile(learned); err == nil {
		more, err := protocol.ParseKeySet(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", learned, err)
		}
		for _, k := range more.Keys() {
			if _, ok := ks.Lookup(k.ID()); !ok {
				if err := ks.Add(k); err != nil {
					return nil, fmt.Errorf("%s: %w", learned, err)
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return ks, nil
}

// parseKeys reads hq.keys_file and hq.keys (for a Config not made by
// config.Load).
func parseKeys(cfg *config.Config) (*protocol.KeySet, error) {
	var text bytes.Buffer
	if cfg.HQ.KeysFile != "" {
		b, err := os.ReadFile(cfg.HQ.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("hq.keys_file: %w", err)
		}
		text.Write(b)
		text.WriteByte('\n')
	}
	for _, k := range cfg.HQ.Keys {
		text.WriteString(k)
		text.WriteByte('\n')
	}
	ks, err := protocol.ParseKeySet(&text)
	if err != nil {
		return nil, fmt.Errorf("HQ keys: %w", err)
	}
	return ks, nil
}

// saveKeys persists the key set after a rotation (temp file, fsync,
// rename).
func (p *Post) saveKeys(ks *protocol.KeySet) error {
	path := filepath.Join(p.cfg.DataDir, learnedKeys)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(ks.Format()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// tlsConfig builds the client TLS configuration from hq.ca_file,
// cert_file and key_file; nil when none is set.
func (p *Post) tlsConfig() (*tls.Config, error) {
	h := p.cfg.HQ
	if h.CAFile == "" && h.CertFile == "" {
		return nil, nil
	}
	if h.CertFile != "" {
		return mqtt.TLSConfig(h.CertFile, h.KeyFile, h.CAFile)
	}
	pem, err := os.ReadFile(h.CAFile)
	if err != nil {
		return nil, fmt.Errorf("hq.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("hq.ca_file %s: no PEM certificate in it", h.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// loadScreener (re)builds the screening index from the store.
func (p *Post) loadScreener(ctx context.Context) error {
	st := p.Store()
	start := time.Now()
	sc, err := LoadScreener(ctx, st, match.Config{
		MatchThreshold: p.cfg.Screening.MatchThreshold, PossibleThreshold: p.cfg.Screening.PossibleThreshold,
	})
	if err != nil {
		return fmt.Errorf("screening index: %w", err)
	}
	p.screener.Store(sc)
	entries, names := sc.Index().Size()
	p.log.Info("screening index built", logkey.Entries, entries, logkey.Names, names, logkey.Took, time.Since(start).Round(time.Millisecond))
	return nil
}

// watchDisk measures the store's free space every DiskCheckInterval
// until ctx ends. Below the reserve the store refuses every write by
// itself, and the post keeps screening on what it holds; this loop says
// so in the log once, and once space is back it says that too and wakes
// replication, which paused while the disk was low.
func (p *Post) watchDisk(ctx context.Context, st *badgerstore.Store) {
	low := false
	for {
		t := p.opts.Clock.NewTimer(p.opts.DiskCheckInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		sp := st.Space()
		switch {
		case sp.Low() && !low:
			p.log.Warn("disk low: the store refuses writes; screening continues on the lists held, screenings are answered 'not recorded' and list updates wait until space is freed",
				logkey.Dir, sp.Dir, logkey.Free, sp.Free, logkey.Reserve, sp.Reserve)
		case !sp.Low() && low:
			p.log.Info("disk space back: the store records again and replication resumes", logkey.Dir, sp.Dir, logkey.Free, sp.Free, logkey.Reserve, sp.Reserve)
			if ag := guarded(&p.mu, &p.agent); ag != nil {
				ag.Wake()
			}
		}
		low = sp.Low()
	}
}

func (p *Post) listNames() []string {
	infos, err := p.Store().Lists()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(infos))
	for _, in := range infos {
		names = append(names, in.Name)
	}
	return names
}

// Store returns the post's store (nil before Run opened it).
func (p *Post) Store() *badgerstore.Store { return guarded(&p.mu, &p.store) }

// Screen screens one traveller against the current index.
func (p *Post) Screen(q *engine.Query) ([]engine.Hit, error) { return p.Edition().Screen(q) }

// Edition returns the screening in use now: screening with it and its
// Checked name the same list versions, whatever the post swaps in
// meanwhile.
func (p *Post) Edition() Edition { return Edition{p: p, sc: p.screener.Load()} }

// Edition is one edition of the post's screening: the index in use when
// it was taken, and the lists a screening with it is checked against.
type Edition struct {
	p  *Post
	sc *match.Screener // nil before the first index is loaded
}

// Screen screens one traveller with the edition's index.
func (e Edition) Screen(q *engine.Query) ([]engine.Hit, error) {
	if e.sc == nil {
		return nil, errors.New("no screening index yet")
	}
	hits, err := e.sc.Screen(q)
	e.p.screenings.Add(1)
	e.p.lastScreen.Store(e.p.opts.Clock.Now().UnixNano())
	return hits, err
}

// Checked returns the lists a screening with the edition is checked
// against, with the replica's STALE flags, and the configured lists the
// post does not hold (see CheckedLists).
func (e Edition) Checked() ([]engine.CheckedList, []string) {
	p := e.p
	var stale map[string]string
	if st, ok := p.SyncStatus(); ok {
		stale = make(map[string]string, len(st.Lists))
		for _, l := range st.Lists {
			stale[l.List] = l.Stale
		}
	}
	checked := CheckedLists(e.sc, p.Store(), stale)
	var missing []string
	for _, name := range p.cfg.Lists {
		if !slices.ContainsFunc(checked, func(c engine.CheckedList) bool { return c.List == name }) {
			missing = append(missing, name)
		}
	}
	return checked, missing
}

// Screenings reports the screenings since start and the time of the last.
func (p *Post) Screenings() (uint64, time.Time) {
	var last time.Time
	if ns := p.lastScreen.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	return p.screenings.Load(), last
}

// SyncStatus returns the link's state; ok is false when the post has no
// link to HQ configured (or Run has not started it).
func (p *Post) SyncStatus() (agent.Status, bool) {
	p.mu.Lock()
	ag := p.agent
	p.mu.Unlock()
	if ag == nil {
		return agent.Status{}, false
	}
	return ag.Status(), true
}

// Outbox returns the post's outbox (nil before Run opened it).
func (p *Post) Outbox() *outbox.Outbox { return guarded(&p.mu, &p.ob) }

// Ledger returns the post's ledger of screenings and hits (nil before Run
// opened it).
func (p *Post) Ledger() *ledger.Ledger { return guarded(&p.mu, &p.ledger) }

// ScreenAndRecord screens one traveller and records the screening in the
// ledger (with its hit, and the hit's outbox record for HQ, in one
// transaction). The hits are returned even when recording fails, so an
// officer never loses sight of one.
func (p *Post) ScreenAndRecord(ctx context.Context, source, ref, actor string, q *engine.Query) ([]engine.Hit, ledger.Recorded, error) {
	hits, err := p.Screen(q)
	if err != nil {
		return nil, ledger.Recorded{}, err
	}
	led := p.Ledger()
	if led == nil {
		return hits, ledger.Recorded{}, errors.New("post not running: screening not recorded")
	}
	rec, err := led.Record(ctx, ledger.Screening{Source: source, Ref: ref, Actor: actor, Traveller: *q, Hits: hits, ScreenedAt: p.opts.Clock.Now()})
	return hits, rec, err
}

// Checked returns the lists a screening is checked against now (the
// Checked of the edition in use).
func (p *Post) Checked() ([]engine.CheckedList, []string) { return p.Edition().Checked() }

// Indexed returns the lists in the screening index now in use: a list
// version is reported here, by Checked and by the status once screening
// uses it (a delta is applied to the index in place within milliseconds
// of its commit to the store; a snapshot or import once the index is
// rebuilt).
func (p *Post) Indexed() []engine.ListInfo {
	sc := p.screener.Load()
	if sc == nil {
		return nil
	}
	return sc.Index().Lists()
}

// checkDataDir creates the data directory (mode 0700) if needed and checks
// that it is writable.
func checkDataDir(dir string) error {
	if dir == "" {
		return errors.New("no data directory configured")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// APIAddr returns the address the local API listens on ("" when off or
// before Run bound it).
func (p *Post) APIAddr() string { return guarded(&p.mu, &p.apiAddr) }
