package api

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// MetricsContentType is the Prometheus text exposition format /metrics
// writes.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// latencyBuckets are the upper bounds, in seconds, of the latency
// histograms: a screen takes tens of microseconds, an HTTP request well
// under the 5 ms p99 target, a manifest up to a second.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Metrics counts what the API does and holds the gauges the daemon feeds,
// and writes them all in the Prometheus text format. Counting is lock-free
// on the request path. A Metrics is safe for concurrent use; the zero value
// is not, use NewMetrics.
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
//	list_age_seconds{list}                age of each loaded list (daemon-fed)
//	link_up                               1 when the link to HQ is up (daemon-fed)
type Metrics struct {
	now func() time.Time

	screensAPI, screensManifest atomic.Uint64
	screenErrors                atomic.Uint64
	screenLatency               histogram
	hits                        sync.Map // hitKey → *atomic.Uint64

	routesMu sync.Mutex
	routes   []*routeMetrics

	outboxDepth atomic.Int64
	linkUp      atomic.Bool
	listsMu     sync.Mutex
	lists       map[string]time.Time
}

type hitKey struct {
	band engine.Band
	list string
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	m := &Metrics{now: time.Now, lists: map[string]time.Time{}}
	m.screenLatency.init()
	return m
}

// SetOutboxDepth sets the number of records waiting in the outbox for HQ.
func (m *Metrics) SetOutboxDepth(n int) { m.outboxDepth.Store(int64(n)) }

// SetLinkUp sets whether the link to HQ is up.
func (m *Metrics) SetLinkUp(up bool) { m.linkUp.Store(up) }

// SetListImported sets when the loaded version of a list was made (its
// import, or its head's issue time): list_age_seconds is the time since,
// computed at each scrape so that it keeps growing while no update
// arrives.
func (m *Metrics) SetListImported(list string, at time.Time) {
	m.listsMu.Lock()
	m.lists[list] = at
	m.listsMu.Unlock()
}

// ForgetList drops a list that is no longer loaded.
func (m *Metrics) ForgetList(list string) {
	m.listsMu.Lock()
	delete(m.lists, list)
	m.listsMu.Unlock()
}

func (m *Metrics) observeScreen(d time.Duration, err error) {
	m.screenLatency.observe(d)
	if err != nil {
		m.screenErrors.Add(1)
	}
}

// countScreen counts a traveller screened from source.
func (m *Metrics) countScreen(source string) {
	if source == SourceManifest {
		m.screensManifest.Add(1)
	} else {
		m.screensAPI.Add(1)
	}
}

func (m *Metrics) countHit(band engine.Band, list string) {
	k := hitKey{band, list}
	c, ok := m.hits.Load(k)
	if !ok {
		c, _ = m.hits.LoadOrStore(k, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// routeMetrics are the counters of one route.
type routeMetrics struct {
	pattern string
	codes   [600]atomic.Uint64 // by status code
	latency histogram
}

func (m *Metrics) route(pattern string) *routeMetrics {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	for _, r := range m.routes {
		if r.pattern == pattern {
			return r
		}
	}
	r := &routeMetrics{pattern: pattern}
	r.latency.init()
	m.routes = append(m.routes, r)
	return r
}

func (r *routeMetrics) observe(code int, d time.Duration) {
	if code < 0 || code >= len(r.codes) {
		code = 0
	}
	r.codes[code].Add(1)
	r.latency.observe(d)
}

// histogram is a fixed-bucket latency histogram.
type histogram struct {
	bounds []time.Duration
	counts []atomic.Uint64 // len(bounds)+1, the last is +Inf
	sumNS  atomic.Uint64
}

func (h *histogram) init() {
	h.bounds = make([]time.Duration, len(latencyBuckets))
	h.counts = make([]atomic.Uint64, len(latencyBuckets)+1)
	for i, b := range latencyBuckets {
		h.bounds[i] = time.Duration(b * float64(time.Second))
	}
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	if d > 0 {
		h.sumNS.Add(uint64(d))
	}
}

// WriteText writes every series in the Prometheus text exposition format
// (version 0.0.4).
func (m *Metrics) WriteText(b *bytes.Buffer) {
	header(b, "watchpost_screens_total", "counter", "Travellers screened, by source (api, manifest).")
	counter(b, "watchpost_screens_total", []string{"source", SourceAPI}, m.screensAPI.Load())
	counter(b, "watchpost_screens_total", []string{"source", SourceManifest}, m.screensManifest.Load())

	header(b, "watchpost_screen_errors_total", "counter", "Travellers the matcher refused or failed to screen.")
	counter(b, "watchpost_screen_errors_total", nil, m.screenErrors.Load())

	header(b, "watchpost_hits_total", "counter", "Hits returned, one per listed entry, by band and list.")
	type hitRow struct {
		k hitKey
		n uint64
	}
	var rows []hitRow
	m.hits.Range(func(k, v any) bool {
		rows = append(rows, hitRow{k.(hitKey), v.(*atomic.Uint64).Load()})
		return true
	})
	slices.SortFunc(rows, func(a, b hitRow) int {
		if c := strings.Compare(string(a.k.band), string(b.k.band)); c != 0 {
			return c
		}
		return strings.Compare(a.k.list, b.k.list)
	})
	for _, r := range rows {
		counter(b, "watchpost_hits_total", []string{"band", string(r.k.band), "list", r.k.list}, r.n)
	}

	header(b, "watchpost_screen_duration_seconds", "histogram", "Time to screen one traveller.")
	m.screenLatency.write(b, "watchpost_screen_duration_seconds", nil)

	m.routesMu.Lock()
	routes := slices.Clone(m.routes)
	m.routesMu.Unlock()
	header(b, "watchpost_http_requests_total", "counter", "API requests answered, by route and status code.")
	for _, r := range routes {
		for code := range r.codes {
			if n := r.codes[code].Load(); n > 0 {
				counter(b, "watchpost_http_requests_total", []string{"route", r.pattern, "code", strconv.Itoa(code)}, n)
			}
		}
	}
	header(b, "watchpost_http_request_duration_seconds", "histogram", "Time to answer an API request, by route.")
	for _, r := range routes {
		r.latency.write(b, "watchpost_http_request_duration_seconds", []string{"route", r.pattern})
	}

	header(b, "watchpost_outbox_depth", "gauge", "Records waiting in the outbox for HQ.")
	gauge(b, "watchpost_outbox_depth", nil, float64(m.outboxDepth.Load()))

	header(b, "watchpost_list_age_seconds", "gauge", "Age of the loaded version of each list.")
	now := m.now()
	m.listsMu.Lock()
	names := make([]string, 0, len(m.lists))
	for n := range m.lists {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		gauge(b, "watchpost_list_age_seconds", []string{"list", n}, now.Sub(m.lists[n]).Seconds())
	}
	m.listsMu.Unlock()

	header(b, "watchpost_link_up", "gauge", "1 when the link to HQ is up, else 0.")
	up := 0.0
	if m.linkUp.Load() {
		up = 1
	}
	gauge(b, "watchpost_link_up", nil, up)
}

func header(b *bytes.Buffer, name, typ, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// series writes name{labels} with labels given as name, value pairs.
func series(b *bytes.Buffer, name string, labels []string) {
	b.WriteString(name)
	if len(labels) == 0 {
		return
	}
	b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(labels[i])
		b.WriteString(`="`)
		escapeLabel(b, labels[i+1])
		b.WriteByte('"')
	}
	b.WriteByte('}')
}

func escapeLabel(b *bytes.Buffer, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
}

func counter(b *bytes.Buffer, name string, labels []string, n uint64) {
	series(b, name, labels)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(n, 10))
	b.WriteByte('\n')
}

func gauge(b *bytes.Buffer, name string, labels []string, v float64) {
	series(b, name, labels)
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (h *histogram) write(b *bytes.Buffer, name string, labels []string) {
	var cum uint64
	le := append(slices.Clone(labels), "le", "")
	for i := range h.counts {
		cum += h.counts[i].Load()
		if i < len(latencyBuckets) {
			le[len(le)-1] = formatFloat(latencyBuckets[i])
		} else {
			le[len(le)-1] = "+Inf"
		}
		counter(b, name+"_bucket", le, cum)
	}
	gauge(b, name+"_sum", labels, float64(h.sumNS.Load())/1e9)
	counter(b, name+"_count", labels, cum)
}
