package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/api/loadgen"
)

// answerWithin bounds every wait for an answer in these tests: a post
// that reads an unread body, or never times one out, does not answer
// within it.
const answerWithin = 5 * time.Second

// bodyReads serves p's handler with each request body reporting its
// first Read on the returned channel, and returns the server's address.
func bodyReads(t *testing.T, p *testPost) (string, <-chan struct{}) {
	t.Helper()
	reads := make(chan struct{}, 100)
	h := p.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &firstRead{ReadCloser: r.Body, reads: reads}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return strings.TrimPrefix(hs.URL, "http://"), reads
}

type firstRead struct {
	io.ReadCloser
	reads chan<- struct{}
	done  bool
}

func (f *firstRead) Read(b []byte) (int, error) {
	n, err := f.ReadCloser.Read(b)
	if !f.done && n > 0 {
		f.done = true
		f.reads <- struct{}{}
	}
	return n, err
}

// slowRequest sends a POST to addr announcing a body of announce bytes,
// then only body, and returns the connection.
func slowRequest(t *testing.T, addr, path, contentType string, announce int, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", path, addr, contentType, announce, body); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads the answer on c, and checks that the post then closes
// the connection rather than reading the rest of the body.
func answer(t *testing.T, c net.Conn, status int, contains string) *http.Response {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(answerWithin))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", answerWithin, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status || !strings.Contains(string(b), contains) {
		t.Fatalf("answer %d %s, want %d containing %q", resp.StatusCode, b, status, contains)
	}
	if !resp.Close {
		t.Errorf("answer %d without Connection: close", status)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("after the answer: %v, want the post to close the connection (EOF)", err)
	}
	return resp
}

// TestBodyNotAllocatedFromContentLength: requests announcing a 4 MiB
// manifest and sending 8 bytes make the post hold kilobytes, not the
// announced length.
func TestBodyNotAllocatedFromContentLength(t *testing.T) {
	p := newTestPost(t, nil)
	addr, reads := bodyReads(t, p)
	const conns = 8
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range conns {
		slowRequest(t, addr, "/v1/manifests", "text/plain", MaxManifestBody, "UNA:+.? '")
	}
	for range conns {
		select {
		case <-reads:
		case <-time.After(answerWithin):
			t.Fatal("the bodies were not read")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d requests announcing %d bytes, 9 sent: heap +%d KiB", conns, MaxManifestBody, held>>10)
	if limit := int64(conns * 256 << 10); held > limit {
		t.Errorf("heap grew by %d KiB for %d requests announcing %d bytes and sending 9: want at most %d KiB (the bytes received, not the length announced)",
			held>>10, conns, MaxManifestBody, limit>>10)
	}
}

// TestSlowBodyTimesOut: a body that stops arriving is answered 408
// naming the time allowed, and its connection closed.
func TestSlowBodyTimesOut(t *testing.T) {
	p := newTestPost(t, func(o *Options) { o.BodyTimeout = 100 * time.Millisecond })
	addr := strings.TrimPrefix(p.url, "http://")
	c := slowRequest(t, addr, "/v1/screen", "application/json", 100, `{"name":`)
	answer(t, c, http.StatusRequestTimeout, "not received within the 100ms allowed: 8 bytes arrived of the 100 announced")
}

// TestBodyReadersCapped: with every body reader busy, a request is
// refused within the wait (503, Retry-After, connection closed), and
// served again once a reader is free.
func TestBodyReadersCapped(t *testing.T) {
	p := newTestPost(t, func(o *Options) { o.BodyReaders = 2; o.BodyWait = 50 * time.Millisecond })
	addr, reads := bodyReads(t, p)
	slow := []net.Conn{
		slowRequest(t, addr, "/v1/screen", "application/json", 100, `{"name":`),
		slowRequest(t, addr, "/v1/screen", "application/json", 100, `{"name":`),
	}
	for range slow {
		select {
		case <-reads:
		case <-time.After(answerWithin):
			t.Fatal("the slow bodies were not read")
		}
	}
	body := `{"name":"Nobody"}`
	c := slowRequest(t, addr, "/v1/screen", "application/json", len(body), body)
	resp := answer(t, c, http.StatusServiceUnavailable, "reading 2 request bodies already")
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	slow[0].Close() // its reader ends with the connection
	var ok bool
	for deadline := time.Now().Add(answerWithin); !ok && time.Now().Before(deadline); {
		resp, err := http.Post("http://"+addr+"/v1/screen", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ok = resp.StatusCode == http.StatusOK
	}
	if !ok {
		t.Error("no screening served after a body reader was freed")
	}
}

// TestRefusalClosesUnreadBody: requests refused without reading their
// body (announced too large, no token) are answered at once and their
// connection closed, not held while the body trickles in.
func TestRefusalClosesUnreadBody(t *testing.T) {
	t.Run("announced too large", func(t *testing.T) {
		p := newTestPost(t, nil)
		c := slowRequest(t, strings.TrimPrefix(p.url, "http://"), "/v1/screen", "application/json", MaxScreenBody+1, "")
		answer(t, c, http.StatusRequestEntityTooLarge, "the limit is 65536")
	})
	t.Run("no token", func(t *testing.T) {
		p := newTestPost(t, func(o *Options) { o.Tokens = []Token{{Name: "ws", Secret: "workstation-token-1"}} })
		c := slowRequest(t, strings.TrimPrefix(p.url, "http://"), "/v1/screen", "application/json", 100, `{"name":`)
		answer(t, c, http.StatusUnauthorized, "API token")
	})
	t.Run("wrong content type", func(t *testing.T) {
		p := newTestPost(t, nil)
		c := slowRequest(t, strings.TrimPrefix(p.url, "http://"), "/v1/screen", "text/xml", 100, "<a>")
		answer(t, c, http.StatusUnsupportedMediaType, "application/json")
	})
}

// TestLoadgenSlow holds slow-body connections against a real server with
// small limits: the readers' requests time out, the others are refused,
// and the post closes every connection after its answer.
func TestLoadgenSlow(t *testing.T) {
	_, url := startServer(t, Options{Screener: &fakeScreener{}, BodyReaders: 4, BodyWait: 50 * time.Millisecond, BodyTimeout: 300 * time.Millisecond})
	const conns = 20
	res, err := loadgen.Slow(context.Background(), loadgen.SlowConfig{URL: url, Connections: conns, Announce: 1000, Send: 8, Hold: answerWithin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	timedOut, refused := res.Answers[http.StatusRequestTimeout], res.Answers[http.StatusServiceUnavailable]
	if res.Opened != conns || timedOut < 4 || refused < 1 || timedOut+refused != conns || res.Closed+res.Open+res.KeptOpen != 0 {
		t.Fatalf("%s", res)
	}
}
