package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
)

// metricLine matches one sample line of the text exposition format.
var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$`)

func TestMetrics(t *testing.T) {
	p := newTestPost(t, nil)
	p.postJSON(t, "/v1/screen", `{"name":"Wanted Person"}`)
	p.postJSON(t, "/v1/screen", `{"name":"Nobody"}`)
	p.postJSON(t, "/v1/screen", `{"nope":1}`)
	body, _ := manifest(t, 5)
	p.do(t, http.MethodPost, "/v1/manifests", "text/plain", body)
	m := p.Metrics()
	m.lists.clock = clocktest.NewAt(testNow)
	m.SetOutboxDepth(17)
	m.SetLinkUp(true)
	m.SetListImported("un", testNow.Add(-90*time.Minute))
	m.SetListImported(`odd"list`, testNow)
	m.ForgetList(`odd"list`)

	for _, c := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"screens api", m.screensAPI, 2},
		{"screens manifest", m.screensManifest, 5},
		{"screen errors", m.screenErrors, 0},
		{"hits match un", m.hits.WithLabelValues("match", "un"), 2},
		{"/v1/screen 200", m.requests.WithLabelValues("/v1/screen", "200"), 2},
		{"/v1/screen 400", m.requests.WithLabelValues("/v1/screen", "400"), 1},
		{"/v1/manifests 200", m.requests.WithLabelValues("/v1/manifests", "200"), 1},
		{"outbox depth", m.outboxDepth, 17},
		{"link up", m.linkUp, 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// Every route's histogram is there from the start; screen_duration
	// saw 2 API travellers and 5 of the manifest.
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP watchpost_list_age_seconds Age of the loaded version of each list.
# TYPE watchpost_list_age_seconds gauge
watchpost_list_age_seconds{list="un"} 5400
`), "watchpost_list_age_seconds"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.requestLatency); n != len(routeSpecs)+1 {
		t.Errorf("%d request histograms, want one per route and %q: %d", n, notFoundRoute, len(routeSpecs)+1)
	}
	if problems, err := testutil.GatherAndLint(m.reg, "watchpost_screens_total", "watchpost_screen_errors_total",
		"watchpost_hits_total", "watchpost_screen_duration_seconds", "watchpost_http_requests_total",
		"watchpost_http_request_duration_seconds", "watchpost_outbox_depth", "watchpost_list_age_seconds", "watchpost_link_up"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}

	r := p.do(t, http.MethodGet, "/metrics", "", nil)
	if ct := r.header.Get("Content-Type"); r.status != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %q", r.status, ct)
	}
	text := string(r.body)
	wants := []string{
		`watchpost_screens_total{source="api"} 2`,
		`watchpost_screens_total{source="manifest"} 5`,
		`watchpost_screen_errors_total 0`,
		`watchpost_hits_total{band="match",list="un"} 2`,
		`watchpost_screen_duration_seconds_count 7`,
		`watchpost_screen_duration_seconds_bucket{le="+Inf"} 7`,
		`watchpost_http_requests_total{code="200",route="/v1/screen"} 2`,
		`watchpost_http_requests_total{code="400",route="/v1/screen"} 1`,
		`watchpost_http_requests_total{code="200",route="/v1/manifests"} 1`,
		`watchpost_http_request_duration_seconds_count{route="/v1/screen"} 3`,
		`watchpost_outbox_depth 17`,
		`watchpost_link_up 1`,
		`watchpost_list_age_seconds{list="un"} 5400`,
		`# TYPE watchpost_screen_duration_seconds histogram`,
		`# HELP watchpost_screens_total Travellers screened, by source (api, manifest).`,
		`go_goroutines `,
	}
	if runtime.GOOS == "linux" || runtime.GOOS == "windows" {
		wants = append(wants, `process_resident_memory_bytes `)
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "odd") {
		t.Error("a forgotten list is still exported")
	}
	typed := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typed[strings.Fields(f)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		mm := metricLine.FindStringSubmatch(line)
		if mm == nil {
			t.Errorf("not an exposition line: %q", line)
			continue
		}
		name := mm[1]
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !typed[name] && !typed[base] {
			t.Errorf("%s has no TYPE line before it", name)
		}
	}
}

// TestMetricsRegisterer: what the daemon registers is served with the
// API's series, and each Metrics has a registry of its own.
func TestMetricsRegisterer(t *testing.T) {
	m, other := NewMetrics(), NewMetrics()
	for _, x := range []*Metrics{m, other} {
		if err := x.Registerer().Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "watchpost_test_value", Help: "A value the daemon reads at scrape time.",
		}, func() float64 { return 42 })); err != nil {
			t.Fatal(err)
		}
	}
	text := scrape(t, m)
	if !strings.Contains(text, "watchpost_test_value 42\n") || !strings.Contains(text, "watchpost_link_up 0\n") {
		t.Fatalf("scrape:\n%s", text)
	}
}

func TestLabelEscaping(t *testing.T) {
	m := NewMetrics()
	m.countHit(engine.BandPossible, "a\"b\\c\nd")
	if text := scrape(t, m); !strings.Contains(text, `watchpost_hits_total{band="possible",list="a\"b\\c\nd"} 1`) {
		t.Fatalf("escaping:\n%s", text)
	}
}

// scrape returns what m's /metrics handler answers a plain GET.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.handler(slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// BenchmarkCountRequest is the cost metrics add to each API request.
func BenchmarkCountRequest(b *testing.B) {
	m := NewMetrics()
	r := m.route("/v1/screen")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.countScreen(SourceAPI)
			m.observeScreen(30*time.Microsecond, nil)
			m.countHit(engine.BandMatch, "un")
			r.observe(http.StatusOK, 400*time.Microsecond)
		}
	})
}
