// Package loadgen drives a Watchpost post API with load and reports what
// the post did with it. Its one job is to say whether the API meets its
// targets on a given machine: Run, with keep-alive clients, measures the
// screening endpoint's throughput and latency percentiles (≥ 5,000
// requests/s, p99 ≤ 5 ms on loopback); Slow holds thousands of
// connections that announce a body and never send it, against which the
// post must stay bounded (RSS ≤ 256 MB under 10,000).
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine/option"
)

// Config describes a load run.
type Config struct {
	// URL is the endpoint to POST to, e.g. http://127.0.0.1:8640/v1/screen.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// ContentType of the bodies (application/json when empty).
	ContentType string
	// Bodies are POSTed round-robin; at least one is required.
	Bodies [][]byte
	// Concurrency is the number of clients, each with its own keep-alive
	// connection, sending one request at a time (default 16).
	Concurrency int
	// Requests stops the run after this many requests in all; Duration
	// after this much time. At least one must be set; the first reached
	// ends the run.
	Requests int
	Duration time.Duration
	// Warmup requests are sent by each client before measuring.
	Warmup int
	// Rate, when > 0, paces the clients to this many requests per second
	// in all (an open-loop load: each client sends on a fixed schedule, and
	// a latency counts from the scheduled send time, so a stall is not
	// hidden by the requests it delayed). 0 sends as fast as answers come.
	Rate float64
}

// Result is what a run measured.
type Result struct {
	Requests int           // answered with a 2xx and measured
	Errors   int           // non-2xx answers and transport errors
	Elapsed  time.Duration // from the first measured request to the last answer
	PerSec   float64       // Requests / Elapsed
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
	// ServiceP99 is the 99th percentile from the moment each request was
	// actually sent; it equals P99 without Rate. With Rate, P99 − ServiceP99
	// shows how far the clients fell behind their schedule.
	ServiceP99 time.Duration
	// FirstError describes the first failure, "" without.
	FirstError string
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %s: %.0f req/s, p50 %s, p90 %s, p99 %s (from send %s), max %s, %d errors",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSec, r.P50, r.P90, r.P99, r.ServiceP99, r.Max, r.Errors)
}

// Run sends the load and returns what it measured. It returns an error only
// for a bad Config or a cancelled ctx; failed requests are counted.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.URL == "" || len(cfg.Bodies) == 0 {
		return Result{}, errors.New("loadgen: URL and at least one body are required")
	}
	if cfg.Requests <= 0 && cfg.Duration <= 0 {
		return Result{}, errors.New("loadgen: set Requests or Duration")
	}
	cfg.Concurrency = option.Positive(cfg.Concurrency, 16)
	if cfg.ContentType == "" {
		cfg.ContentType = "application/json"
	}
	target, err := parseTarget(cfg.URL)
	if err != nil {
		return Result{}, err
	}
	var (
		issued   atomic.Int64 // requests handed out, for Requests
		errs     atomic.Int64
		firstErr atomic.Pointer[string]
		lats     = make([][]time.Duration, cfg.Concurrency)
		svc      = make([][]time.Duration, cfg.Concurrency)
		wg, warm sync.WaitGroup
		start    = make(chan struct{})
	)
	fail := func(msg string) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, &msg)
	}
	var deadline, t0 time.Time // set before start is closed
	for w := range cfg.Concurrency {
		wg.Add(1)
		warm.Add(1)
		go func() {
			defer wg.Done()
			c := worker{target: target, cfg: &cfg, next: w}
			defer c.close()
			for range cfg.Warmup {
				if err := c.do(ctx); err != nil {
					break
				}
			}
			warm.Done()
			<-start
			if cfg.Requests > 0 {
				lats[w] = make([]time.Duration, 0, cfg.Requests/cfg.Concurrency+1)
				svc[w] = make([]time.Duration, 0, cfg.Requests/cfg.Concurrency+1)
			}
			var interval time.Duration
			next := t0
			if cfg.Rate > 0 {
				interval = time.Duration(float64(cfg.Concurrency) / cfg.Rate * float64(time.Second))
				next = t0.Add(time.Duration(w) * interval / time.Duration(cfg.Concurrency)) // stagger the clients
			}
			for ctx.Err() == nil {
				if cfg.Requests > 0 && issued.Add(1) > int64(cfg.Requests) {
					return
				}
				if !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				scheduled := time.Now()
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
					scheduled = next
					next = next.Add(interval)
				}
				sent := time.Now()
				err := c.do(ctx)
				done := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						fail(err.Error())
					}
					continue
				}
				lats[w] = append(lats[w], done.Sub(scheduled))
				svc[w] = append(svc[w], done.Sub(sent))
			}
		}()
	}
	// The clock starts once every worker has warmed up.
	warm.Wait()
	t0 = time.Now()
	if cfg.Duration > 0 {
		deadline = t0.Add(cfg.Duration)
	}
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	all, sent := merge(lats), merge(svc)
	res := Result{Requests: len(all), Errors: int(errs.Load()), Elapsed: elapsed}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	if len(all) > 0 {
		res.PerSec = float64(len(all)) / elapsed.Seconds()
		res.P50, res.P90, res.P99, res.Max = pct(all, 50), pct(all, 90), pct(all, 99), all[len(all)-1]
		res.ServiceP99 = pct(sent, 99)
	}
	return res, nil
}

func merge(per [][]time.Duration) []time.Duration {
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	slices.Sort(all)
	return all
}

// pct returns the p-th percentile of sorted latencies (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

// target is where the requests go: the address to dial and the request
// line's path, with the Host header's value.
type target struct {
	addr, host, path string
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("loadgen: URL: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return target{}, fmt.Errorf("loadgen: URL %q: only http://host:port/path is supported (put a TLS proxy's plain side under load)", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return target{addr: addr, host: u.Host, path: u.RequestURI()}, nil
}

// worker is one client: one keep-alive connection, one request at a time.
// It writes each request whole in one write, from bytes made once per
// body, and reads the answer with http.ReadResponse: no transport
// goroutines and channel hops per request, so that the clients, which
// share the machine's cores with the server, cost it little (as wrk's
// do).
type worker struct {
	target target
	cfg    *Config
	next   int
	reqs   [][]byte // each body's request, made on first use
	conn   net.Conn
	br     *bufio.Reader
	// unhook stops the closing of conn when the run is cancelled.
	unhook func() bool
}

func (c *worker) close() {
	if c.conn != nil {
		c.unhook()
		c.conn.Close()
		c.conn = nil
	}
}

// request returns the whole HTTP/1.1 request for body i.
func (c *worker) request(i int) []byte {
	if c.reqs == nil {
		c.reqs = make([][]byte, len(c.cfg.Bodies))
	}
	if c.reqs[i] == nil {
		var b bytes.Buffer
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", c.target.path, c.target.host, c.cfg.ContentType, len(c.cfg.Bodies[i]))
		if c.cfg.Token != "" {
			fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", c.cfg.Token)
		}
		b.WriteString("\r\n")
		b.Write(c.cfg.Bodies[i])
		c.reqs[i] = b.Bytes()
	}
	return c.reqs[i]
}

// do sends one request and reads its answer to the end so that the
// connection is reused; after a transport error or an answer that closes
// the connection, the next request dials again.
func (c *worker) do(ctx context.Context) error {
	i := c.next % len(c.cfg.Bodies)
	c.next++
	if c.conn == nil {
		d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.target.addr)
		if err != nil {
			return err
		}
		// A cancelled run ends a request under way too.
		c.unhook = context.AfterFunc(ctx, func() { conn.Close() })
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	if err := c.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		c.close()
		return err
	}
	if _, err := c.conn.Write(c.request(i)); err != nil {
		c.close()
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, c.cfg.URL)
	}
	return nil
}
