package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
)

// latencyBuckets are the upper bounds, in seconds, of the latency
// histograms: a screen takes tens of microseconds, an HTTP request well
// under the 5 ms p99 target, a manifest up to a second.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Metrics counts what the API does and holds the gauges the daemon feeds,
// in a Prometheus registry of its own (never the global one) that /metrics
// exposes with the Go runtime and process collectors. Counting on the
// request path uses children resolved once (per route, per status code,
// per band and list), not a label lookup per request. A Metrics is safe
// for concurrent use; the zero value is not, use NewMetrics.
//
// Series (all prefixed watchpost_):
//
//	screens_total{source}                 travellers screened (source api|manifest)
//	screen_errors_total                   travellers the matcher refused or failed
//	hits_total{band,list}                 hits returned, one per listed entry
//	screen_duration_seconds               histogram of one traveller's screening
//	http_requests_total{route,code}       API requests answered
//	http_request_duration_seconds{route}  histogram of API request time
//	outbox_depth                          records waiting for HQ (daemon-fed)
//	list_age_seconds{list}                age of each loaded list (daemon-fed, computed at scrape)
//	link_up                               1 when the link to HQ is up (daemon-fed)
//
// The daemon registers its own collectors through Registerer.
type Metrics struct {
	reg *prometheus.Registry

	screensAPI, screensManifest prometheus.Counter
	screenErrors                prometheus.Counter
	screenLatency               prometheus.Histogram
	hits                        *prometheus.CounterVec
	hitChildren                 sync.Map // hitKey → prometheus.Counter
	requests                    *prometheus.CounterVec
	requestLatency              *prometheus.HistogramVec

	routesMu sync.Mutex
	routes   map[string]*routeMetrics

	outboxDepth prometheus.Gauge
	linkUp      prometheus.Gauge
	lists       *listAges
}

type hitKey struct {
	band engine.Band
	list string
}

// NewMetrics returns empty metrics in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		routes: map[string]*routeMetrics{},
		lists:  &listAges{clock: clock.System{}, at: map[string]time.Time{}},
	}
	screens := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "watchpost_screens_total", Help: "Travellers screened, by source (api, manifest).",
	}, []string{"source"})
	m.screensAPI = screens.WithLabelValues(SourceAPI)
	m.screensManifest = screens.WithLabelValues(SourceManifest)
	m.screenErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "watchpost_screen_errors_total", Help: "Travellers the matcher refused or failed to screen.",
	})
	m.hits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "watchpost_hits_total", Help: "Hits returned, one per listed entry, by band and list.",
	}, []string{"band", "list"})
	m.screenLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "watchpost_screen_duration_seconds", Help: "Time to screen one traveller.", Buckets: latencyBuckets,
	})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "watchpost_http_requests_total", Help: "API requests answered, by route and status code.",
	}, []string{"route", "code"})
	m.requestLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "watchpost_http_request_duration_seconds", Help: "Time to answer an API request, by route.", Buckets: latencyBuckets,
	}, []string{"route"})
	m.outboxDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "watchpost_outbox_depth", Help: "Records waiting in the outbox for HQ.",
	})
	m.linkUp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "watchpost_link_up", Help: "1 when the link to HQ is up, else 0.",
	})
	m.reg.MustRegister(
		screens, m.screenErrors, m.hits, m.screenLatency, m.requests, m.requestLatency,
		m.outboxDepth, m.lists, m.linkUp,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registerer is where the daemon registers its own collectors, to be
// exposed on /metrics with the API's.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// handler answers /metrics from the registry. A collector that fails is
// logged and left out; the rest is still served.
func (m *Metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // counts promhttp_metric_handler_errors_total
	})
}

// SetOutboxDepth sets the number of records waiting in the outbox for HQ.
func (m *Metrics) SetOutboxDepth(n int) { m.outboxDepth.Set(float64(n)) }

// SetLinkUp sets whether the link to HQ is up.
func (m *Metrics) SetLinkUp(up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.linkUp.Set(v)
}

// SetListImported sets when the loaded version of a list was made (its
// import, or its head's issue time): list_age_seconds is the time since,
// computed at each scrape so that it keeps growing while no update
// arrives.
func (m *Metrics) SetListImported(list string, at time.Time) {
	m.lists.mu.Lock()
	m.lists.at[list] = at
	m.lists.mu.Unlock()
}

// ForgetList drops a list that is no longer loaded.
func (m *Metrics) ForgetList(list string) {
	m.lists.mu.Lock()
	delete(m.lists.at, list)
	m.lists.mu.Unlock()
}

func (m *Metrics) observeScreen(d time.Duration, err error) {
	m.screenLatency.Observe(d.Seconds())
	if err != nil {
		m.screenErrors.Inc()
	}
}

// countScreen counts a traveller screened from source.
func (m *Metrics) countScreen(source string) {
	if source == SourceManifest {
		m.screensManifest.Inc()
	} else {
		m.screensAPI.Inc()
	}
}

func (m *Metrics) countHit(band engine.Band, list string) {
	k := hitKey{band, list}
	c, ok := m.hitChildren.Load(k)
	if !ok {
		c, _ = m.hitChildren.LoadOrStore(k, m.hits.WithLabelValues(string(band), list))
	}
	c.(prometheus.Counter).Inc()
}

// routeMetrics are the children of one route: its latency histogram,
// resolved once, and its request counter per status code, resolved on
// the code's first use.
type routeMetrics struct {
	pattern  string
	requests *prometheus.CounterVec // curried with the route
	codes    [600]atomic.Pointer[counterRef]
	latency  prometheus.Observer
}

// counterRef holds a counter for an atomic.Pointer.
type counterRef struct{ prometheus.Counter }

func (m *Metrics) route(pattern string) *routeMetrics {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	if r := m.routes[pattern]; r != nil {
		return r
	}
	r := &routeMetrics{
		pattern:  pattern,
		requests: m.requests.MustCurryWith(prometheus.Labels{"route": pattern}),
		latency:  m.requestLatency.WithLabelValues(pattern),
	}
	m.routes[pattern] = r
	return r
}

func (r *routeMetrics) observe(code int, d time.Duration) {
	if code < 0 || code >= len(r.codes) {
		code = 0
	}
	c := r.codes[code].Load()
	if c == nil {
		// Two first requests may both resolve the child: the vector
		// returns the same one to each.
		c = &counterRef{r.requests.WithLabelValues(strconv.Itoa(code))}
		r.codes[code].Store(c)
	}
	c.Inc()
	r.latency.Observe(d.Seconds())
}

// listAges is the list_age_seconds collector: the age of each loaded list,
// computed at scrape time from when its loaded version was made.
type listAges struct {
	clock clock.Clock
	mu    sync.Mutex
	at    map[string]time.Time
}

var listAgeDesc = prometheus.NewDesc("watchpost_list_age_seconds", "Age of the loaded version of each list.", []string{"list"}, nil)

func (l *listAges) Describe(ch chan<- *prometheus.Desc) { ch <- listAgeDesc }

func (l *listAges) Collect(ch chan<- prometheus.Metric) {
	now := l.clock.Now()
	l.mu.Lock()
	ms := make([]prometheus.Metric, 0, len(l.at))
	for list, at := range l.at {
		ms = append(ms, prometheus.MustNewConstMetric(listAgeDesc, prometheus.GaugeValue, now.Sub(at).Seconds(), list))
	}
	l.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
}
