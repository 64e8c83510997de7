package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// consoleClient is a logged-in HTTP client of a console test post.
type consoleClient struct {
	tb   testing.TB
	base string
	c    *http.Client
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newConsoleClient(tb testing.TB, base, user string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	cc := &consoleClient{tb: tb, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	tok := cc.token("/login")
	resp, err := cc.c.PostForm(base+"/login", url.Values{"csrf": {tok}, "name": {user}, "password": {consolePassword}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	return cc
}

func (cc *consoleClient) get(path string) (int, []byte) {
	resp, err := cc.c.Get(cc.base + path)
	if err != nil {
		cc.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (cc *consoleClient) token(path string) string {
	_, b := cc.get(path)
	m := csrfField.FindSubmatch(b)
	if m == nil {
		cc.tb.Fatalf("no CSRF field on %s", path)
	}
	return string(m[1])
}

// percentiles reports the median and 99th percentile of ds in ms.
func percentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	at := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkConsoleHitPage: the hit page (listed entries read from the
// store, decision history, explanation) with 10,000 hits in the ledger.
// Target: p99 at most 50 ms.
func BenchmarkConsoleHitPage(b *testing.B) {
	cp := startConsolePost(b, true)
	ctx := context.Background()
	q := engine.Query{Surname: "QADHAFI", GivenNames: "SAADI", BirthDate: "1973-05-27", Nationality: "LBY", DocumentNumber: "AA862825"}
	hits, err := cp.p.Screen(&q)
	if err != nil || len(hits) == 0 {
		b.Fatalf("screen: %v %v", hits, err)
	}
	led := cp.p.Ledger()
	var ids []string
	for batch := 0; batch < 20; batch++ {
		ss := make([]ledger.Screening, 500)
		for i := range ss {
			ss[i] = ledger.Screening{Source: ledger.SourceAPI, Actor: "omar", Traveller: q, Hits: hits}
		}
		res, err := led.RecordBatch(ctx, fmt.Sprintf("bench-%d", batch), ss)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range res.HitRecords {
			ids = append(ids, h.HitID)
		}
	}
	if len(ids) != 10000 {
		b.Fatalf("%d hits recorded", len(ids))
	}
	for i := 0; i < 50; i++ {
		if _, err := led.Dispose(ctx, ids[i*7], ledger.Disposition{Decision: "referred", Officer: "omar", Note: "n"}); err != nil {
			b.Fatal(err)
		}
	}
	cc := newConsoleClient(b, cp.base, "omar")
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		code, body := cc.get("/hits/" + ids[(i*7919)%len(ids)])
		ds = append(ds, time.Since(start))
		if code != http.StatusOK || !bytes.Contains(body, []byte("QADHAFI")) {
			b.Fatalf("hit page: %d", code)
		}
	}
	b.StopTimer()
	percentiles(b, ds)
}

// BenchmarkConsoleManifestPage: the page of an uploaded manifest of 500
// travellers (every traveller with its band, hits first). Target: at
// most 300 ms. The upload itself (parse, screen, record) is timed once
// and reported as upload-ms.
func BenchmarkConsoleManifestPage(b *testing.B) {
	cp := startConsolePost(b, true)
	var edi bytes.Buffer
	if err := paxlst.Write(&edi, paxlst.Generate(7, 500), paxlst.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	cc := newConsoleClient(b, cp.base, "omar")
	tok := cc.token("/manifests")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", tok)
	fw, _ := mw.CreateFormFile("file", "LH500.edi")
	fw.Write(edi.Bytes())
	mw.Close()
	start := time.Now()
	resp, err := cc.c.Post(cp.base+"/manifests", mw.FormDataContentType(), &body)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("upload: %v %v", resp, err)
	}
	upload := time.Since(start)
	resp.Body.Close()
	page := resp.Header.Get("Location")
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		code, body := cc.get(page)
		ds = append(ds, time.Since(start))
		if code != http.StatusOK || bytes.Count(body, []byte("<tr data-href=")) != 500 {
			b.Fatalf("manifest page: %d, %d rows", code, bytes.Count(body, []byte("<tr data-href=")))
		}
	}
	b.StopTimer()
	percentiles(b, ds)
	b.ReportMetric(float64(upload)/float64(time.Millisecond), "upload-ms")
}

// BenchmarkConsoleScreenMRZ: the server's part of "MRZ typed to result
// shown": the form's POST (parse, screen, record with its fsync) and the
// GET of the result page it redirects to.
func BenchmarkConsoleScreenMRZ(b *testing.B) {
	cp := startConsolePost(b, true)
	cc := newConsoleClient(b, cp.base, "omar")
	m := saadiMRZ(b)
	tok := cc.token("/screen")
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		resp, err := cc.c.PostForm(cp.base+"/screen", url.Values{"csrf": {tok}, "mrz": {m[0] + "\r\n" + m[1]}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("screen: %v %v", resp, err)
		}
		resp.Body.Close()
		code, body := cc.get(resp.Header.Get("Location"))
		ds = append(ds, time.Since(start))
		if code != http.StatusOK || !bytes.Contains(body, []byte(`data-band="match"`)) {
			b.Fatalf("result page: %d", code)
		}
	}
	b.StopTimer()
	percentiles(b, ds)
}
