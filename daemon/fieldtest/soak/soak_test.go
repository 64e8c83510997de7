package soak

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/fieldtest"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// ciFaults is the CI form's number of faults, split between the two
// brokers; WATCHPOST_SOAK_FAULTS sets another (the long run: 1000), and
// WATCHPOST_SOAK_SEED another seed.
const ciFaults = 24

const (
	soakList   = "soak"
	targetName = "Soaktarget Wanted Person"
	targetDOB  = "1971-03-14"
	adminToken = "soak-admin-token-0123456789"

	// postDiskSize is the tmpfs under the post's data directory, and
	// diskLeave what a disk-full fault leaves free on it: less than the
	// store's default reserve (96 MiB), so the post refuses writes.
	postDiskSize = 512 << 20
	diskLeave    = 32 << 20
	// clockJump is the size of a clock-jump fault, either way.
	clockJump = time.Hour
)

// TestSoak injects faults into a running post, HQ and broker, chosen by a
// seeded random sequence (the same seed, the same faults), with
// screenings and decisions between them, then heals everything and
// checks the invariants.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs processes for minutes")
	}
	faults, seed := ciFaults, int64(1)
	if v := os.Getenv("WATCHPOST_SOAK_FAULTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("WATCHPOST_SOAK_FAULTS=%q: want a number of faults, at least 2", v)
		}
		faults = n
	}
	if v := os.Getenv("WATCHPOST_SOAK_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("WATCHPOST_SOAK_SEED=%q: %v", v, err)
		}
		seed = n
	}
	postBin, hqBin := buildBinaries(t)
	for i, mode := range []string{"embedded", "mosquitto"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "mosquitto" && brokertest.MosquittoPath() == "" {
				t.Skip("no Mosquitto (/usr/sbin/mosquitto): install the mosquitto package")
			}
			s := newSoak(t, mode, seed+int64(i), postBin, hqBin)
			s.run(faults / 2)
			s.check()
		})
	}
}

// soak is one run: the processes, the link between the post and HQ, and
// what the post's API acknowledged.
type soak struct {
	t    *testing.T
	mode string
	rng  *rand.Rand
	dir  string
	link *fieldtest.Link

	hq, post, broker *proc // broker: Mosquitto, nil with the embedded one
	hqURL, postURL   string
	https            *http.Client

	edition  int
	lastHash string
	made     []string        // hits acknowledged, in order
	disposed map[string]bool // hits whose decision was acknowledged
	faults   map[string]int
	refused  int // screenings the post could not take (down, or its disk full)
	// refusals counts them by answer (see refusal).
	refusals map[string]int
	// disk is the tmpfs holding the post's data directory ("" where
	// none can be mounted: no disk-full faults then).
	disk string
	// clocks are the fault-clock files of the post and HQ (see
	// clock.FaultClockEnv), by process name; jumps counts the jumps
	// seen in effect, by process name.
	clocks map[string]string
	jumps  map[string]int
	// sealWaits counts HQ clock jumps that first waited for the post to
	// hold HQ's encryption key.
	// unseen counts HQ clock jumps during which no hit made reached HQ
	// within two minutes.
	unseen int
	// unseenHits are the hits of those jumps, with the time their jump
	// began, so that the final check can say when they reached HQ.
	unseenHits  map[string]time.Time
	sealWaits   int
	sealWaitMax time.Duration
	// unannounced counts publishes HQ refused (it could not reach the
	// broker).
	unannounced int
}

func newSoak(t *testing.T, mode string, seed int64, postBin, hqBin string) *soak {
	s := &soak{t: t, mode: mode, rng: rand.New(rand.NewSource(seed)), dir: t.TempDir(), link: fieldtest.NewLink(seed),
		disposed: map[string]bool{}, unseenHits: map[string]time.Time{}, faults: map[string]int{}, clocks: map[string]string{}, jumps: map[string]int{}, refusals: map[string]int{}}
	t.Cleanup(s.link.Close)
	if _, err := publish.Keygen(filepath.Join(s.dir, "keys")); err != nil {
		t.Fatal(err)
	}
	ca := brokertest.NewCA(t, "soak CA")
	leaf := ca.Issue(t, brokertest.Leaf{CN: "hq.soak", Server: true})
	caFile, certFile, keyFile, tokenFile := s.file("ca.pem", ca.PEM), s.file("hq.crt", leaf.CertPEM), s.file("hq.key.pem", leaf.KeyPEM), s.file("token", []byte(adminToken))
	s.https = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}}

	mqttPort, httpsPort, apiPort := brokertest.FreePort(t), brokertest.FreePort(t), brokertest.FreePort(t)
	mqttAddr, httpsAddr := fmt.Sprintf("127.0.0.1:%d", mqttPort), fmt.Sprintf("127.0.0.1:%d", httpsPort)
	s.hqURL, s.postURL = "https://"+httpsAddr, fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	linkMQTT, err := s.link.Forward(func() string { return mqttAddr })
	if err != nil {
		t.Fatal(err)
	}
	linkHTTPS, err := s.link.Forward(func() string { return httpsAddr })
	if err != nil {
		t.Fatal(err)
	}

	hqArgs := []string{hqBin, "serve", "--data-dir", filepath.Join(s.dir, "hq"), "--key", filepath.Join(s.dir, "keys", publish.PrivateKeyFile),
		"--listen", httpsAddr, "--https-cert", certFile, "--https-key", keyFile, "--admin-token-file", tokenFile,
		"--snapshot-url", protocol.SnapshotsURL("https://" + linkHTTPS), "--connect-timeout", "60s"}
	if mode == "mosquitto" {
		conf := s.file("mosquitto.conf", fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nmax_queued_messages 100000\n",
			mqttPort, s.dir))
		s.broker = newProc(t, "mosquitto", s.dir, dialer(mqttAddr), brokertest.MosquittoPath(), "-c", conf)
		hqArgs = append(hqArgs, "--broker", "tcp://"+mqttAddr)
	} else {
		hqArgs = append(hqArgs, "--listen-mqtt", mqttAddr, "--mqtt-anonymous-loopback")
	}
	s.hq = newProc(t, "hq", s.dir, s.hqHealthy, hqArgs...)
	postData := filepath.Join(s.dir, "post")
	if disk, err := testkit.TryTmpfs(t, postDiskSize); err != nil {
		t.Logf("no disk-full faults: %v", err)
	} else {
		s.disk, postData = disk, filepath.Join(disk, "post")
	}

	conf := s.file("watchpost.yaml", fmt.Appendf(nil, `post_id: soak-post
data_dir: %s
lists: [%s]
stop_timeout: 5s
hq:
  brokers: [tcp://%s]
  url: https://%s
  keys_file: %s
  ca_file: %s
api:
  listen: 127.0.0.1:%d
`, postData, soakList, linkMQTT, linkHTTPS, filepath.Join(s.dir, "keys", publish.PublicKeyFile), caFile, apiPort))
	s.post = newProc(t, "post", s.dir, s.postHealthy, postBin, "run", "--config", conf)
	for _, p := range []*proc{s.post, s.hq} {
		s.clocks[p.name] = s.file(p.name+".clock", nil)
		p.env = append(p.env, clock.FaultClockEnv+"="+s.clocks[p.name])
	}

	if s.broker != nil {
		s.broker.start()
	}
	s.hq.start()
	s.mustPublish()
	s.post.start()
	testkit.CheckFor(t, 2*time.Minute, "the post holds HQ's first edition", s.converged)
	testkit.CheckFor(t, time.Minute, "the post screens on it", s.screenOnce)
	return s
}

func (s *soak) file(name string, b []byte) string {
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

func dialer(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
}

func (s *soak) hqHealthy() error {
	_, err := s.do(s.https, http.MethodGet, s.hqURL+protocol.PathHealth, nil, http.StatusOK)
	return err
}

func (s *soak) postHealthy() error {
	_, err := s.do(http.DefaultClient, http.MethodGet, s.postURL+protocol.PathHealth, nil, http.StatusOK)
	return err
}

// do makes a request and returns the body of a want answer.
func (s *soak) do(c *http.Client, method, u string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	case resp.StatusCode != want:
		return nil, fmt.Errorf("%s %s: %s: %.300s", method, u, resp.Status, b)
	}
	return b, nil
}

// edition is the soak list's n-th edition: 300 generated persons and the
// target, with a tenth of the persons changed from one edition to the
// next.
func edition(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,kind,name,aliases,birth_dates,nationalities,sex,documents,programs,remarks\n")
	fmt.Fprintf(&b, "T-1,person,%s,,%s,NLD,M,,national,soak target\n", targetName, targetDOB)
	for i := range 300 {
		gen := n
		if i%10 != n%10 {
			gen = 0
		}
		fmt.Fprintf(&b, "S-%d,person,Soakperson Number%d Edition%d,,1960-01-01,DEU,F,,national,\n", i, i, gen)
	}
	return b.Bytes()
}

// publish publishes the next edition through HQ's admin API; HQ's hash
// is the answer's. HQ refuses (500) while it cannot reach the broker,
// after committing the version (the next publish announces it): that
// is counted, not an error.
func (s *soak) publish() error {
	s.edition++
	q := url.Values{"format": {"csv"}, "source": {fmt.Sprintf("soak edition %d", s.edition)}, "single_person": {"true"}}
	b, err := s.do(s.https, http.MethodPost, s.hqURL+protocol.PathLists+soakList+"/editions?"+q.Encode(), edition(s.edition), http.StatusOK)
	if err != nil {
		s.unannounced++
		return fmt.Errorf("publish edition %d: %w", s.edition, err)
	}
	var res hqserver.PublishResponse
	if err := json.Unmarshal(b, &res); err != nil || res.Hash == "" {
		s.t.Fatalf("publish edition %d: answer %s (%v)", s.edition, b, err)
	}
	s.lastHash = res.Hash
	return nil
}

// hqClockOff is nil once HQ holds one of the hits ids, received at a time
// off by about off.
func (s *soak) hqClockOff(ids []string, off time.Duration) error {
	recs, err := s.atHQ()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if slices.Contains(ids, r.ID) {
			if d := r.ReceivedAt.Sub(time.Now().Add(off)).Abs(); d > 5*time.Minute {
				return fmt.Errorf("HQ received hit %s at %v, %v from the jumped time", r.ID, r.ReceivedAt, d)
			}
			return nil
		}
	}
	return fmt.Errorf("none of the %d hits made during the jump at HQ yet", len(ids))
}

// mustPublish publishes an edition, retrying while HQ reconnects.
func (s *soak) mustPublish() {
	s.t.Helper()
	if err := testkit.Poll(2*time.Minute, s.publish, testkit.Every(time.Second)); err != nil {
		s.t.Fatal(err)
	}
}

// screen screens the target at the post; a hit the API acknowledged
// (200 with a hit id) is counted as made, a screening the post did not
// take (no answer, or an error status) as refused. A screening the post
// answered without a hit is an error.
func (s *soak) screen() error {
	err := s.screenOnce()
	var r refused
	if errors.As(err, &r) {
		s.refused++
		s.refusals[refusal(r.err)]++
		return nil
	}
	return err
}

// refused is a screening the post did not take.
type refused struct{ err error }

func (r refused) Error() string { return "refused: " + r.err.Error() }

// screenOnce is screen without the count of refusals: it returns them.
func (s *soak) screenOnce() error {
	b, err := s.do(http.DefaultClient, http.MethodPost, s.postURL+"/v1/screen", fmt.Appendf(nil, `{"name":%q,"birth_date":%q}`, targetName, targetDOB), http.StatusOK)
	if err != nil {
		return refused{err}
	}
	var res api.ScreenResult
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("screen: %s: %w", b, err)
	}
	if res.HitID == "" {
		return fmt.Errorf("screening %q made no hit: %s", targetName, b)
	}
	s.made = append(s.made, res.HitID)
	return nil
}

// refusal names a refused screening's answer: an HTTP status, or "no
// answer" when the post was down.
func refusal(err error) string {
	msg := err.Error()
	for _, code := range []string{" 503 ", " 507 ", " 500 ", " 408 "} {
		if strings.Contains(msg, code) {
			return strings.TrimSpace(code)
		}
	}
	if strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF") {
		return "no answer"
	}
	return msg
}

// decide records a decision on a random hit not decided yet.
func (s *soak) decide() {
	var open []string
	for _, id := range s.made {
		if !s.disposed[id] {
			open = append(open, id)
		}
	}
	if len(open) == 0 {
		return
	}
	id := open[s.rng.Intn(len(open))]
	if _, err := s.do(http.DefaultClient, http.MethodPost, s.postURL+protocol.PathHits+"/"+id+"/disposition" /* the post's API names its hits as HQ's does */, []byte(`{"decision":"referred","officer":"soak-officer"}`), http.StatusOK); err == nil {
		s.disposed[id] = true
	}
}

// traffic is what an officer does between and during faults.
func (s *soak) traffic() {
	for range 1 + s.rng.Intn(3) {
		if err := s.screen(); err != nil {
			s.t.Error(err)
		}
	}
	if s.rng.Intn(2) == 0 {
		s.decide()
	}
}

// pause waits a random 0.5–2.5 s with the fault in place.
func (s *soak) pause() { time.Sleep(time.Duration(500+s.rng.Intn(2000)) * time.Millisecond) }

// run injects n faults.
func (s *soak) run(n int) {
	kinds := []string{"kill-post", "kill-hq", "link-cut", "satellite", "publish", "clock-jump"}
	if s.broker != nil {
		kinds = append(kinds, "kill-broker")
	}
	if s.disk != "" {
		kinds = append(kinds, "disk-full")
	}
	// Every kind once first, in a seeded order, then at random.
	order := make([]string, 0, n)
	for _, i := range s.rng.Perm(len(kinds)) {
		order = append(order, kinds[i])
	}
	for len(order) < n {
		order = append(order, kinds[s.rng.Intn(len(kinds))])
	}
	for _, kind := range order[:n] {
		s.faults[kind]++
		switch kind {
		case "kill-post":
			s.post.kill()
			s.traffic() // refused: the post is down
			s.post.start()
		case "kill-hq":
			s.hq.kill()
			s.traffic()
			s.pause()
			s.hq.start()
		case "kill-broker":
			s.broker.kill()
			s.traffic()
			s.pause()
			s.broker.start()
		case "link-cut":
			s.link.Cut()
			s.traffic()
			_ = s.publish()
			s.pause()
			s.link.Restore()
		case "satellite":
			s.link.SetProfile(fieldtest.Satellite)
			s.traffic()
			_ = s.publish()
			s.pause()
			s.link.SetProfile(fieldtest.Profile{})
		case "publish":
			_ = s.publish()
		case "clock-jump":
			s.clockJump()
		case "disk-full":
			s.diskFull()
		}
		s.traffic()
	}
}

// clockJump jumps the post's or HQ's wall clock an hour forward or back,
// with traffic and a publish while it is off, then sets it right (as NTP
// would). A jump is counted once the process is seen to be off by it:
// the post's status reports its clock, and HQ stamps the hits it
// receives with its own.
func (s *soak) clockJump() {
	p, off := s.post, clockJump
	if s.rng.Intn(2) == 0 {
		p = s.hq
	}
	if s.rng.Intn(2) == 0 {
		off = -off
	}
	if p == s.post {
		s.setClock(p, off.String())
		if err := testkit.Poll(10*time.Second, func() error { return s.postClockOff(off) }, testkit.Every(100*time.Millisecond)); err != nil {
			s.t.Errorf("clock jump %v at the post: %v", off, err)
		} else {
			s.jumps[p.name]++
		}
		s.traffic()
		_ = s.publish()
	} else {
		// HQ stamps each record it receives with its clock (a head's
		// issue time would not do: HQ never issues one before the last).
		// Hits travel sealed to HQ's encryption key, so the post must
		// hold it first: after a restart it can wait minutes for HQ's
		// statement (counted in sealWaits), which is not what this
		// fault is about.
		if s.postSealKey() != nil {
			s.sealWaits++
			start := time.Now()
			testkit.CheckFor(s.t, 5*time.Minute, "the post holds HQ's encryption key", s.postSealKey)
			s.sealWaitMax = max(s.sealWaitMax, time.Since(start))
		}
		s.setClock(p, off.String())
		time.Sleep(200 * time.Millisecond) // past the fault clock's refresh
		before := len(s.made)
		jumped := time.Now()
		s.traffic()
		_ = s.publish()
		for try := 0; len(s.made) == before && try < 20; try++ {
			time.Sleep(250 * time.Millisecond) // the post may still be taking up a fault
			if err := s.screen(); err != nil {
				s.t.Error(err)
			}
		}
		// The jump lasts until one of them is at HQ: the outbox may be
		// backing off after an earlier fault (up to half a minute).
		// A hit that does not reach HQ within that time is not lost (the
		// final check counts every hit): the jump is then counted as
		// unseen and reported, an open question rather than a failure.
		err := testkit.Poll(2*time.Minute, func() error { return s.hqClockOff(s.made[before:], off) }, testkit.Every(200*time.Millisecond))
		if err != nil {
			s.unseen++
			link := "unknown"
			if st, serr := s.status(); serr == nil {
				link = fmt.Sprintf("up %v since %s, unacked since %s, last error %q", st.Link.Up, ago(st.Link.Since), ago(st.Link.UnackedSince), st.Link.LastError)
			}
			s.t.Logf("clock jump %v at HQ not seen within 2 min: %v; the post's link: %s", off, err, link)
			for _, id := range s.made[before:] {
				s.unseenHits[id] = jumped
			}
		} else {
			s.jumps[p.name]++
		}
	}
	s.pause()
	s.setClock(p, "")
}

func (s *soak) setClock(p *proc, offset string) {
	if err := os.WriteFile(s.clocks[p.name], []byte(offset), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// postSealKey is nil once the post's status names HQ's encryption key.
func (s *soak) postSealKey() error {
	st, err := s.status()
	if err != nil {
		return err
	}
	if st.SealKey == "" {
		return errors.New("the post holds no HQ encryption key")
	}
	return nil
}

// postClockOff is nil once the post's status reports its clock off by
// about off.
func (s *soak) postClockOff(off time.Duration) error {
	st, err := s.status()
	if err != nil {
		return err
	}
	if d := st.Clock.Sub(time.Now().Add(off)).Abs(); d > 5*time.Minute {
		return fmt.Errorf("the post's clock reads %v, %v from the jumped time", st.Clock, d)
	}
	return nil
}

// diskFull fills the post's file system below the store's reserve, with
// traffic and a publish while it is full (screenings are answered 507
// and counted as refused, edition updates wait), then frees it; the post
// must take it up again by itself.
func (s *soak) diskFull() {
	filler := testkit.Fill(s.t, s.disk, diskLeave)
	low := func(want bool) func() error {
		return func() error {
			st, err := s.status()
			if err != nil {
				return err
			}
			if st.Disk.Low != want {
				return fmt.Errorf("the post's disk: low %v (free %d, reserve %d), want low %v", st.Disk.Low, st.Disk.Free, st.Disk.Reserve, want)
			}
			return nil
		}
	}
	// The post measures its free space every 10 s (daemon.DefaultDiskCheckInterval).
	testkit.CheckFor(s.t, time.Minute, "the post reports its disk low", low(true))
	s.traffic()
	_ = s.publish()
	s.pause()
	if err := os.Remove(filler); err != nil {
		s.t.Fatal(err)
	}
	testkit.CheckFor(s.t, time.Minute, "the post takes writes again", low(false))
}

// status is the post's status.
func (s *soak) status() (api.Status, error) {
	var st api.Status
	b, err := s.do(http.DefaultClient, http.MethodGet, s.postURL+"/v1/status", nil, http.StatusOK)
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

// converged: the post screens on HQ's last edition.
func (s *soak) converged() error {
	st, err := s.status()
	if err != nil {
		return err
	}
	for _, l := range st.Lists {
		if l.List == soakList && l.Hash == s.lastHash {
			return nil
		}
	}
	return fmt.Errorf("the post does not hold HQ's hash %.12s: %+v", s.lastHash, st.Lists)
}

// atHQ returns HQ's hit records.
func (s *soak) atHQ() ([]hqserver.Record, error) {
	b, err := s.do(s.https, http.MethodGet, s.hqURL+protocol.PathHits+"?kind=hit&limit="+strconv.Itoa(hqserver.MaxHitsLimit), nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var res hqserver.HitsResponse
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	return res.Records, nil
}

// check heals everything and checks the invariants.
func (s *soak) check() {
	t := s.t
	s.link.Restore()
	s.link.SetProfile(fieldtest.Profile{})
	s.mustPublish() // HQ's final edition: the hash every post must hold
	var lost, dup, decLost, decDup int
	tally := func() error {
		recs, err := s.atHQ()
		if err != nil {
			return err
		}
		seen, decisions := map[string]int{}, map[string]map[string]bool{}
		for _, r := range recs {
			seen[r.ID]++
			for _, d := range r.Decisions {
				if decisions[r.ID] == nil {
					decisions[r.ID] = map[string]bool{}
				}
				if decisions[r.ID][d.ID] {
					decDup++
				}
				decisions[r.ID][d.ID] = true
			}
		}
		lost, dup, decLost, decDup = 0, 0, 0, 0
		for _, id := range s.made {
			switch n := seen[id]; {
			case n == 0:
				lost++
			case n > 1:
				dup += n - 1
			}
			want := 0
			if s.disposed[id] {
				want = 1
			}
			if got := len(decisions[id]); got < want {
				decLost++
			} else if got > want {
				decDup += got - want
			}
		}
		if lost+dup+decLost+decDup > 0 {
			return fmt.Errorf("%d hits lost, %d duplicated; %d decisions lost, %d duplicated", lost, dup, decLost, decDup)
		}
		return s.converged()
	}
	err := testkit.Poll(3*time.Minute, tally, testkit.Every(200*time.Millisecond))
	s.reportUnseen()
	kinds := make([]string, 0, len(s.faults))
	total := 0
	for k, n := range s.faults {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	slices.Sort(kinds)
	t.Logf("SOAK %s: %d faults (%s); hits made %d, lost %d, duplicated %d; decisions made %d, lost %d, duplicated %d; screenings refused %d (%s); publishes refused while HQ had no broker %d; clock jumps seen in effect: post %d, hq %d (%d not seen within 2 min; %d waited for the post to hold HQ's encryption key, at most %v); starts: post %d, hq %d%s",
		s.mode, total, strings.Join(kinds, ", "), len(s.made), lost, dup, len(s.disposed), decLost, decDup, s.refused, fmt.Sprint(s.refusals), s.unannounced, s.jumps["post"], s.jumps["hq"], s.unseen, s.sealWaits, s.sealWaitMax.Round(time.Second), s.post.starts, s.hq.starts, s.brokerStarts())
	if err != nil {
		t.Errorf("after the faults: %v", err)
	}
	for _, p := range []*proc{s.post, s.hq, s.broker} {
		if p == nil {
			continue
		}
		if err := p.signal(syscall.SIGTERM); err != nil {
			t.Errorf("stop: %v", err)
		}
		for _, e := range p.exits() {
			t.Errorf("%s (see %s)", e, p.log)
		}
	}
}

// ago formats how long ago t was ("never" for the zero time).
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

// reportUnseen logs, for each hit of a jump not seen within 2 minutes,
// how long after its jump began it reached HQ (by HQ's clock, set right
// by then: an answer to when such a hit moves on).
func (s *soak) reportUnseen() {
	if len(s.unseenHits) == 0 {
		return
	}
	recs, err := s.atHQ()
	if err != nil {
		s.t.Logf("hits of unseen jumps: %v", err)
		return
	}
	for _, r := range recs {
		if at, ok := s.unseenHits[r.ID]; ok {
			s.t.Logf("hit %s of an unseen HQ clock jump reached HQ %v after the jump began (HQ's clock)", r.ID, r.ReceivedAt.Sub(at).Round(time.Second))
		}
	}
}

func (s *soak) brokerStarts() string {
	if s.broker == nil {
		return ""
	}
	return fmt.Sprintf(", mosquitto %d", s.broker.starts)
}
