package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// End-to-end tests of hit delivery, posts → HQ (PROTOCOL.md §6), through
// kills and link loss: a post's Badger outbox drained by
// outbox.Publisher over sync/mqtt, through a real broker (mochi in
// process, and Mosquitto when installed), to HQ's hqserver.Server over
// its own store and MQTT client. Every test checks the exact id set HQ
// holds: each id put, once, and nothing else.

// --- 1. Hits made offline ---------------------------------------------

func TestHitsOfflineMochi(t *testing.T)     { testHitsOffline(t, brokertest.StartMochi(t)) }
func TestHitsOfflineMosquitto(t *testing.T) { testHitsOffline(t, startMosquitto(t)) }

// testHitsOffline: hits put while the post has never been connected
// (before the publisher runs, and while it runs over a client that is not
// started, failing and backing off), then while its link is closed, all
// reach HQ exactly once after the link comes up, and the outbox empties.
func testHitsOffline(t *testing.T, url string) {
	const post, n = "offline-post", 300
	h := startHQRecv(t, url, false)
	p := openPostSide(t, post, filepath.Join(t.TempDir(), "post"))

	// Phase 1: never connected.
	want := p.putHits(t, 0, n/2)
	p.link(t, url, postPublisherOptions(post, 5*time.Second), false)
	want = append(want, p.putHits(t, n/2, n-n/2)...)
	testkit.CheckFor(t, 10*time.Second, "publisher failing while offline", func() error {
		if p.pub.Stats().PublishErrors == 0 {
			return errors.New("no failed publish yet")
		}
		return nil
	})
	if c := h.srv.Counts(); c.Received != 0 {
		t.Fatalf("HQ received %d records from a post that never connected", c.Received)
	}
	if d := p.ob.Depth().Records; d != n {
		t.Fatalf("outbox holds %d records before the first connect, want %d", d, n)
	}
	p.startClient(t)
	waitDrained(t, 20*time.Second, p, h, n)
	checkExactlyOnce(t, h.ids(t, post), want)
	checkCounts(t, h.srv.Counts(), n)
	if st := p.pub.Stats(); st.Acked != n {
		t.Fatalf("publisher acked %d records, want %d (%+v)", st.Acked, n, st)
	}
	t.Logf("never connected: %d hits delivered, HQ %+v", n, h.srv.Counts())

	// Phase 2: the link closed (the client is closed, not just cut), more
	// hits, a new client with the same client id.
	p.unlink(t)
	want = append(want, p.putHits(t, n, n)...)
	if d := p.ob.Depth().Records; d != n {
		t.Fatalf("outbox holds %d records while offline, want %d", d, n)
	}
	p.link(t, url, postPublisherOptions(post, 5*time.Second), true)
	waitDrained(t, 20*time.Second, p, h, 2*n)
	checkExactlyOnce(t, h.ids(t, post), want)
	checkCounts(t, h.srv.Counts(), 2*n)
	t.Logf("after a closed link: %d hits in all, HQ %+v, publisher %+v", 2*n, h.srv.Counts(), p.pub.Stats())
}

// --- 2. kill -9 of the post between publish and ack ----------------------

// The kill test re-executes this test binary as the post (the outbox
// publisher over its store and an MQTT client), SIGKILLs it at a random
// moment, and finally drains what is left in process.
const (
	killDirEnv    = "WATCHPOST_HITS_KILL_DIR"
	killBrokerEnv = "WATCHPOST_HITS_KILL_BROKER"
	killPostEnv   = "WATCHPOST_HITS_KILL_POST"
	killRoundsEnv = "WATCHPOST_HITS_KILL_ROUNDS" // default 4
	killSeedEnv   = "WATCHPOST_HITS_KILL_SEED"   // default: time-based, logged
)

// TestHelperHitsPost is the child process of TestHitsKill9*: the post,
// draining its outbox with a long ack timeout (one minute: no resend
// within its life can hide a loss) until it is killed.
func TestHelperHitsPost(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("child process of TestHitsKill9*")
	}
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "hits post child: %s: %v\n", what, err)
		os.Exit(3)
	}
	url, post := os.Getenv(killBrokerEnv), os.Getenv(killPostEnv)
	st, err := badgerstore.Open(dir, badgerstore.Options{MemTableSize: 8 << 20, BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20})
	if err != nil {
		fail("open store", err)
	}
	ob, err := outbox.Open(context.Background(), st, outbox.Options{})
	if err != nil {
		fail("open outbox", err)
	}
	id, err := protocol.PostClientID(post)
	if err != nil {
		fail("client id", err)
	}
	cli, err := mqtt.New(mqtttest.Options(url, id))
	if err != nil {
		fail("mqtt", err)
	}
	sig := &subSignal{Transport: cli, filter: protocol.AcksTopic(post), done: make(chan struct{})}
	pub, err := outbox.NewPublisher(ob, sig, postPublisherOptions(post, time.Minute))
	if err != nil {
		fail("publisher", err)
	}
	go func() {
		if err := pub.Run(context.Background()); err != nil {
			fail("publisher", err)
		}
	}()
	<-sig.done
	if err := cli.Start(); err != nil {
		fail("start", err)
	}
	if testkit.Poll(10*time.Second, testkit.True(cli.Connected), testkit.Every(5*time.Millisecond)) != nil {
		fail("connect", errors.New("not connected after 10 s"))
	}
	fmt.Println("ready", ob.Depth().Records)
	// Until killed; bounded, in case the parent died without killing us.
	<-time.After(time.Minute)
	fmt.Fprintln(os.Stderr, "hits post child: not killed within a minute")
	os.Exit(4)
}

func TestHitsKill9Mochi(t *testing.T)     { testHitsKill9(t, brokertest.StartMochi(t)) }
func TestHitsKill9Mosquitto(t *testing.T) { testHitsKill9(t, startMosquitto(t)) }

// testHitsKill9: rounds of (put hits; run the post as a child process;
// SIGKILL it). In even rounds HQ's ack publishes are held (ackGate), and
// the kill comes only once HQ has stored records and is holding their
// ack: the post dies between publish and acknowledgement for certain,
// and the held acks are then either delivered into the dead post's
// session or fail (HQ counts an ack error). In odd rounds the kill comes
// at a random moment of an undisturbed drain. At every restart each id
// put so far is in the outbox or at HQ; at the end an in-process post
// drains the rest, and HQ holds every id exactly once.
func testHitsKill9(t *testing.T, url string) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	const post, perRound = "kill-post", 200
	rounds := envInt(t, killRoundsEnv, 4)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv(killSeedEnv), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (rerun with %s=%d)", seed, killSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	h := startHQRecv(t, url, true)
	dir := filepath.Join(t.TempDir(), "post")
	var want []string
	// mustBeInOutbox: the previous round's records, when every ack HQ
	// sent for them was held until the post was dead; mustBeUnacked:
	// some of them must be at HQ too.
	var mustBeInOutbox []string
	var mustBeUnacked bool
	check := func(p *postSide, when string) {
		t.Helper()
		inOutbox := p.outboxIDs(t) // before reading HQ: HQ stores before it acks
		atHQ := h.ids(t, post)
		for _, id := range want {
			if !inOutbox[id] && atHQ[id] == 0 {
				t.Fatalf("%s: hit %s lost: neither in the outbox nor at HQ", when, id)
			}
			if atHQ[id] > 1 {
				t.Fatalf("%s: hit %s stored %d times at HQ", when, id, atHQ[id])
			}
		}
		if len(mustBeInOutbox) > 0 {
			unacked := 0
			for _, id := range mustBeInOutbox {
				if !inOutbox[id] {
					t.Fatalf("%s: hit %s left the outbox, but every ack for it was held until the post was dead", when, id)
				}
				if atHQ[id] == 1 {
					unacked++
				}
			}
			if unacked == 0 && mustBeUnacked {
				t.Fatalf("%s: none of the previous round's hits stored at HQ: the kill was not between publish and ack", when)
			}
			t.Logf("%s: the previous round's %d hits are all in the outbox; %d of them stored at HQ, never acked", when, len(mustBeInOutbox), unacked)
		}
		if len(inOutbox) != p.ob.Depth().Records {
			t.Fatalf("%s: %d ids indexed, depth %+v", when, len(inOutbox), p.ob.Depth())
		}
	}
	for r := 0; r < rounds; r++ {
		p := openPostSide(t, post, dir)
		check(p, fmt.Sprintf("round %d, after the restart", r))
		mustBeInOutbox, mustBeUnacked = nil, false
		fresh := p.putBacklog(t, r*perRound, perRound)
		want = append(want, fresh...)
		depth := p.ob.Depth().Records
		p.close(t)

		gated := r%2 == 0
		if gated {
			h.gate.Hold()
		}
		before := h.srv.Counts()
		child := startHitsChild(t, dir, url, post)
		var delay time.Duration
		if gated {
			testkit.CheckFor(t, 20*time.Second, fmt.Sprintf("round %d: HQ stored records and holds their ack", r), func() error {
				// The child's window full of records HQ received, and
				// HQ's ack for them held.
				acks, _ := h.gate.Held()
				if c := h.srv.Counts(); acks == 0 || c.Received-before.Received < outbox.DefaultWindow {
					return fmt.Errorf("%d acks held; HQ %+v", acks, c)
				}
				return nil
			})
			delay = time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		} else {
			delay = time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
		}
		time.Sleep(delay) // the random kill moment
		child.Kill(t)
		after := h.srv.Counts()
		msg := fmt.Sprintf("round %d: outbox %d at start, killed %v after %s; HQ received %d, stored %d new, %d duplicates",
			r, depth, delay.Round(time.Millisecond), map[bool]string{true: "HQ held an ack", false: "ready"}[gated],
			after.Received-before.Received, after.Stored-before.Stored, after.Duplicates-before.Duplicates)
		if gated {
			acks, ids := h.gate.Held()
			drop := rng.IntN(2) == 0
			// Every ack HQ sent for this round's records was held (the
			// first) or pending behind it: none reached the post alive.
			// At the next restart all of them must still be in the
			// outbox, some of them stored at HQ already.
			// With fewer than a window of older records before them, some
			// of this round's records were received by HQ: stored and
			// never acked.
			mustBeInOutbox, mustBeUnacked = fresh, depth-perRound < outbox.DefaultWindow
			h.gate.Release(drop)
			msg += fmt.Sprintf("; %d acks (%d ids) held at the kill, then %s",
				acks, ids, map[bool]string{true: "failed", false: "delivered into the session"}[drop])
		}
		t.Log(msg)
	}

	p := openPostSide(t, post, dir)
	check(p, "after the last kill")
	t.Logf("restarted in process: %d of %d hits still in the outbox", p.ob.Depth().Records, len(want))
	p.link(t, url, postPublisherOptions(post, 5*time.Second), true)
	waitDrained(t, 30*time.Second, p, h, len(want))
	checkExactlyOnce(t, h.ids(t, post), want)
	checkCounts(t, h.srv.Counts(), len(want))
	t.Logf("HQ %+v; publisher %+v", h.srv.Counts(), p.pub.Stats())
}

// startHitsChild runs TestHelperHitsPost on dir and waits until it has
// connected.
func startHitsChild(t *testing.T, dir, url, post string) *testkit.Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHitsPost$", "-test.count=1")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir, killBrokerEnv+"="+url, killPostEnv+"="+post)
	cmd.Stderr = os.Stderr
	return testkit.StartChild(t, cmd, 30*time.Second, "post child", nil)
}

func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return v
}

// --- 3. Broker restarted mid-drain --------------------------------------

// restartable is a broker the test can stop and start on the same
// address with the same persistent state.
type restartable struct {
	url   string
	stop  func(t *testing.T, kill bool)
	start func(t *testing.T)
}

// TestHitsBrokerRestartMosquitto: Mosquitto configured as shipped
// (configs/mosquitto: persistence on, autosave every 60 s), stopped
// mid-drain first with SIGTERM (it writes its database) and then with
// SIGKILL (it does not: what it held since the last save is lost, and the
// outbox resends it), restarted each time on the same port.
func TestHitsBrokerRestartMosquitto(t *testing.T) {
	dir := t.TempDir()
	conf := []string{"persistence true", "persistence_location " + dir + "/",
		"autosave_interval 60", "max_queued_messages 10000", "set_tcp_nodelay true"}
	if os.Geteuid() == 0 {
		// Started as root, Mosquitto switches to the user "mosquitto",
		// which cannot write the test's private temp directory: it would
		// run without saving its database ("Error: Permission denied" at
		// shutdown).
		conf = append(conf, "user root")
	}
	m := brokertest.StartMosquitto(t, conf...)
	db := filepath.Join(dir, "mosquitto.db")
	testHitsBrokerRestart(t, restartable{
		url: m.URL(),
		stop: func(t *testing.T, kill bool) {
			if kill {
				m.Stop()
				return
			}
			_ = os.Remove(db)
			m.Shutdown(t)
			if _, err := os.Stat(db); err != nil {
				t.Fatalf("Mosquitto did not save its database at shutdown: %v", err)
			}
		},
		start: func(t *testing.T) { m.Start(t) },
	})
}

// TestHitsBrokerRestartMochi: the embedded broker (sync/broker, mochi)
// with a DataDir, closed mid-drain and started again on the same address
// and data directory, twice (an in-process broker cannot be SIGKILLed;
// Close is the nearest).
func TestHitsBrokerRestartMochi(t *testing.T) {
	opts := broker.Options{
		Addr:                   fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t)),
		AllowAnonymousLoopback: true,
		DataDir:                filepath.Join(t.TempDir(), "broker"),
	}
	var b *broker.Broker
	start := func(t *testing.T) {
		var err error
		if b, err = broker.Start(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
	}
	start(t)
	t.Cleanup(func() { _ = b.Close() })
	testHitsBrokerRestart(t, restartable{
		url: "tcp://" + opts.Addr,
		stop: func(t *testing.T, _ bool) {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		},
		start: start,
	})
}

// testHitsBrokerRestart drains a backlog of a few thousand hits and stops
// the broker twice mid-drain (at a quarter and at five eighths of the
// records stored at HQ); every id reaches HQ exactly once.
func testHitsBrokerRestart(t *testing.T, b restartable) {
	const post, n = "restart-post", 4000
	h := startHQRecv(t, b.url, false)
	p := openPostSide(t, post, filepath.Join(t.TempDir(), "post"))
	want := p.putBacklog(t, 0, n)
	// A short ack timeout: a record the broker took (PUBACK) and lost in
	// the restart comes back after it, not after the default two minutes.
	p.link(t, b.url, postPublisherOptions(post, 3*time.Second), true)
	for _, stage := range []struct {
		at   int
		kill bool
	}{{n / 4, false}, {n * 5 / 8, true}} {
		testkit.CheckFor(t, 30*time.Second, fmt.Sprintf("%d records at HQ", stage.at), func() error {
			if c := h.srv.Counts(); c.Stored < uint64(stage.at) {
				return fmt.Errorf("HQ stored %d", c.Stored)
			}
			return nil
		})
		b.stop(t, stage.kill)
		c := h.srv.Counts()
		if c.Stored >= n {
			t.Fatalf("the drain finished before the broker stopped (HQ %+v): raise n", c)
		}
		testkit.CheckFor(t, 10*time.Second, "both clients offline", func() error {
			if p.cli.Connected() || h.cli.Connected() {
				return fmt.Errorf("post connected %v, HQ connected %v", p.cli.Connected(), h.cli.Connected())
			}
			return nil
		})
		d := p.ob.Depth().Records
		b.start(t)
		t.Logf("broker stopped (kill %v) with %d stored at HQ and %d in the outbox; restarted", stage.kill, c.Stored, d)
	}
	waitDrained(t, 60*time.Second, p, h, n)
	checkExactlyOnce(t, h.ids(t, post), want)
	checkCounts(t, h.srv.Counts(), n)
	t.Logf("HQ %+v; publisher %+v", h.srv.Counts(), p.pub.Stats())
}

// --- 4. Backlog drain rate ---------------------------------------------

// BenchmarkOutboxBacklog drains a backlog of hits (default 100,000;
// WATCHPOST_BACKLOG=N) from a post's outbox to HQ through Mosquitto
// (set_tcp_nodelay true; WATCHPOST_BACKLOG_BROKER=mochi for the
// in-process mochi), checks that HQ holds every id exactly once, and
// reports hits/s. It runs once whatever b.N is:
//
//	go test -run '^$' -bench OutboxBacklog -benchtime=1x ./sync/e2e
//
// Target: at least 2,000 hits/s.
func BenchmarkOutboxBacklog(b *testing.B) {
	n := envInt(b, "WATCHPOST_BACKLOG", 100_000)
	var url, name string
	if os.Getenv("WATCHPOST_BACKLOG_BROKER") == "mochi" {
		url, name = brokertest.StartMochi(b), "mochi"
	} else {
		url, name = brokertest.StartMosquitto(b, "set_tcp_nodelay true").URL(), "mosquitto"
	}
	const post = "backlog-post"
	h := startHQRecv(b, url, false)
	p := openPostSide(b, post, filepath.Join(b.TempDir(), "post"))
	putStart := time.Now()
	want := p.putBacklog(b, 0, n)
	putTime := time.Since(putStart)

	b.ResetTimer()
	start := time.Now()
	p.link(b, url, postPublisherOptions(post, 10*time.Second), true)
	waitDrained(b, time.Duration(n)*time.Millisecond+60*time.Second, p, h, n)
	el := time.Since(start)
	b.StopTimer()

	checkExactlyOnce(b, h.scanIDs(b, post), want)
	checkCounts(b, h.srv.Counts(), n)
	rate := float64(n) / el.Seconds()
	b.ReportMetric(rate, "hits/s")
	b.ReportMetric(el.Seconds(), "drain-s")
	b.Logf("%s: %d hits (put in %v) drained to HQ in %v: %.0f hits/s; HQ %+v; publisher %+v",
		name, n, putTime.Round(time.Millisecond), el.Round(time.Millisecond), rate, h.srv.Counts(), p.pub.Stats())
	if rate < 2000 {
		b.Errorf("%.0f hits/s, target 2,000", rate)
	}
}
