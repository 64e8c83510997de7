package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/watchpost/watchpost/engine/option"
)

// SlowConfig describes a slow-body attack: connections that each send a
// request announcing a body of Announce bytes, send Send of them, and
// then send nothing more.
type SlowConfig struct {
	// URL is the endpoint to POST to, e.g. http://127.0.0.1:8640/v1/screen.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Connections to open (default 10,000). Each needs a file descriptor
	// here and one in the post.
	Connections int
	// Announce is the Content-Length sent (default 60,000); Send the
	// body bytes actually sent (default 8).
	Announce int64
	Send     int
	// Hold is how long the connections stay open after the last one was
	// opened, waiting for the post's answer and then for the post to close
	// them (default 30 s); a hostile client does not close its end.
	Hold time.Duration
	// Dialers open the connections in parallel (default 64).
	Dialers int
}

// SlowResult is what the post did with the connections.
type SlowResult struct {
	Opened  int           // connections opened with their request sent
	Failed  int           // connections that could not be opened or sent
	Opening time.Duration // from the first dial to the last request sent
	// Answers counts the post's answers by HTTP status.
	Answers map[int]int
	// Closed were closed by the post without an answer; Open were still
	// waiting for one when Hold ended; KeptOpen were answered but not
	// closed by the post within Hold.
	Closed   int
	Open     int
	KeptOpen int
	// FirstError describes the first connection that failed, "" without.
	FirstError string
}

func (r SlowResult) String() string {
	var answers []string
	for _, code := range slices.Sorted(maps.Keys(r.Answers)) {
		answers = append(answers, fmt.Sprintf("%d × %d", r.Answers[code], code))
	}
	if len(answers) == 0 {
		answers = []string{"none"}
	}
	s := fmt.Sprintf("%d connections opened in %s (%d failed); answers: %s; closed unanswered: %d; unanswered at the end: %d; answered, left open: %d",
		r.Opened, r.Opening.Round(time.Millisecond), r.Failed, strings.Join(answers, ", "), r.Closed, r.Open, r.KeptOpen)
	if r.FirstError != "" {
		s += "; first failure: " + r.FirstError
	}
	return s
}

// Slow opens the connections of cfg and waits for the post's answers.
// opened, if not nil, is called once every connection has been tried,
// while they are held. Slow returns an error only for a bad SlowConfig or
// a cancelled ctx.
func Slow(ctx context.Context, cfg SlowConfig, opened func(SlowResult)) (SlowResult, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return SlowResult{}, fmt.Errorf("loadgen: URL %q: want http://host:port/path", cfg.URL)
	}
	cfg.Connections = option.Positive(cfg.Connections, 10_000)
	cfg.Announce = option.Positive(cfg.Announce, 60_000)
	cfg.Send = option.Positive(cfg.Send, 8)
	if int64(cfg.Send) >= cfg.Announce {
		return SlowResult{}, fmt.Errorf("loadgen: Send (%d) must be less than Announce (%d)", cfg.Send, cfg.Announce)
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 30 * time.Second
	}
	cfg.Dialers = option.Positive(cfg.Dialers, 64)
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", u.RequestURI(), u.Host, cfg.Announce)
	if cfg.Token != "" {
		head += "Authorization: Bearer " + cfg.Token + "\r\n"
	}
	request := []byte(head + "\r\n" + strings.Repeat(" ", cfg.Send))

	var (
		mu      sync.Mutex
		res     = SlowResult{Answers: map[int]int{}}
		conns   = make(chan net.Conn, cfg.Connections)
		next    = make(chan struct{}, cfg.Connections)
		dialers sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Failed++
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
	}
	for range cfg.Connections {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	d := &net.Dialer{Timeout: 5 * time.Second}
	for range min(cfg.Dialers, cfg.Connections) {
		dialers.Go(func() {
			for range next {
				if ctx.Err() != nil {
					return
				}
				c, err := d.DialContext(ctx, "tcp", u.Host)
				if err != nil {
					fail(err)
					continue
				}
				if _, err := c.Write(request); err != nil {
					c.Close()
					fail(err)
					continue
				}
				conns <- c
			}
		})
	}
	dialers.Wait()
	close(conns)
	res.Opening = time.Since(start)
	held := make([]net.Conn, 0, len(conns))
	for c := range conns {
		held = append(held, c)
	}
	res.Opened = len(held)
	if err := ctx.Err(); err != nil {
		for _, c := range held {
			c.Close()
		}
		return SlowResult{}, err
	}
	if opened != nil {
		mu.Lock()
		snap := res
		mu.Unlock()
		opened(snap)
	}

	// Every connection waits for its answer until the common deadline.
	deadline := time.Now().Add(cfg.Hold)
	var readers sync.WaitGroup
	for _, c := range held {
		readers.Go(func() {
			defer c.Close()
			_ = c.SetReadDeadline(deadline)
			br := bufio.NewReaderSize(c, 512)
			resp, err := http.ReadResponse(br, nil)
			if err == nil {
				// Wait for the post to close the connection.
				_, err = io.Copy(io.Discard, br)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case resp != nil:
				res.Answers[resp.StatusCode]++
				if errors.Is(err, os.ErrDeadlineExceeded) {
					res.KeptOpen++
				}
			case errors.Is(err, os.ErrDeadlineExceeded):
				res.Open++
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET):
				res.Closed++
			default:
				res.Closed++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
			}
		})
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range held {
			_ = c.SetReadDeadline(time.Now())
		}
	})
	readers.Wait()
	stop()
	if err := ctx.Err(); err != nil {
		return SlowResult{}, err
	}
	return res, nil
}
