package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
)

// BenchmarkFleet measures HQ publish → applied at every post, over a real
// broker, for a fleet of connected posts (default 50, WATCHPOST_FLEET=N),
// each with its own Badger store and MQTT session: 10 editions of a
// 2,000-entry list (each changing about 1.5 % of it), latency from the
// start of PublishEntries to the moment each post holds the version. It
// reports p50, p99 and max over posts × editions. Run with
//
//	go test -run '^$' -bench Fleet -benchtime=1x ./sync/e2e
//
// (WATCHPOST_FLEET_BROKER=mosquitto for Mosquitto; mochi by default).
func BenchmarkFleet(b *testing.B) {
	n := 50
	if s := os.Getenv("WATCHPOST_FLEET"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("WATCHPOST_FLEET=%q: want a positive number", s)
		}
	}
	var url string
	if os.Getenv("WATCHPOST_FLEET_BROKER") == "mosquitto" {
		url = startMosquitto(b)
	} else {
		url = brokertest.StartMochi(b)
	}
	const editions = 10
	for i := 0; i < b.N; i++ {
		lat := measureFleet(b, url, n, editions)
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		b.ReportMetric(float64(q(0.50).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(q(0.99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
		b.Logf("%d posts, %d editions: publish → applied p50 %s, p99 %s, max %s (%d samples)",
			n, editions, q(0.5), q(0.99), lat[len(lat)-1], len(lat))
	}
}

// TestFleetSmall runs the fleet measurement with 8 posts and 3 editions
// as a test: every post applies every edition.
func TestFleetSmall(t *testing.T) {
	lat := measureFleet(t, brokertest.StartMochi(t), 8, 3)
	if len(lat) != 8*3 {
		t.Fatalf("%d samples, want %d", len(lat), 8*3)
	}
}

// measureFleet starts HQ and n posts on url, publishes the first edition
// (posts take its snapshot), then editions more; it returns, per post and
// edition, the time from the start of the publish to the post holding the
// version.
func measureFleet(tb testing.TB, url string, n, editions int) []time.Duration {
	h := startHQ(tb, url)
	posts := make([]*post, n)
	for i := range posts {
		posts[i] = startPost(tb, fmt.Sprintf("fleet-%03d", i), listName, url, h)
	}
	ed := newEditor(tb, 2000)
	h.publish(tb, listName, ed.cur)
	for _, p := range posts {
		testkit.CheckFor(tb, 60*time.Second, p.name+" edition 1", func() error { return p.converged(h) })
	}
	var lat []time.Duration
	for e := 0; e < editions; e++ {
		start := time.Now()
		res := h.publish(tb, listName, ed.next())
		for _, p := range posts {
			testkit.CheckFor(tb, 60*time.Second, fmt.Sprintf("%s version %d", p.name, res.Version), func() error {
				if _, ok := p.appliedAt.Load(res.Version); !ok {
					return fmt.Errorf("version %d not applied", res.Version)
				}
				return nil
			})
			at, _ := p.appliedAt.Load(res.Version)
			lat = append(lat, at.(time.Time).Sub(start))
		}
	}
	for _, p := range posts {
		if err := p.converged(h); err != nil {
			tb.Fatal(err)
		}
		for _, err := range p.errors() {
			tb.Errorf("%s: %v", p.name, err)
		}
	}
	return lat
}
