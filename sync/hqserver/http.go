package hqserver

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// PostsResponse is the JSON body of GET /v1/posts.
type PostsResponse struct {
	Now   time.Time `json:"now"`
	Posts []Post    `json:"posts"`
}

// HitsResponse is the JSON body of GET /v1/hits.
type HitsResponse struct {
	Records []Record `json:"records"`
}

// ListsResponse is the JSON body of GET /v1/lists.
type ListsResponse struct {
	Lists []List `json:"lists"`
}

// List is HQ's view of one list it publishes (publish.ListStatus).
type List struct {
	Name         string    `json:"name"`
	Epoch        uint64    `json:"epoch"`
	Version      uint64    `json:"version"`
	Published    uint64    `json:"published"`
	Entries      int       `json:"entries"`
	Hash         string    `json:"hash"`
	HeadIssuedAt time.Time `json:"head_issued_at,omitzero"`
	Snapshot     string    `json:"snapshot,omitempty"`
	// Error says why the list has no publisher's state (not HQ's).
	Error string `json:"error,omitempty"`
}

// Pending reports whether the current version still awaits its head.
func (l List) Pending() bool { return l.Error == "" && l.Published < l.Version }

// Lists returns HQ's view of every list in the store, sorted by name.
func (s *Server) Lists() ([]List, error) { return ListsOf(s.cfg.Store) }

// ListsOf is HQ's view of every list in st (publish.Lists), sorted by
// name: GET /v1/lists, and watchpost-hq lists on the store itself.
func ListsOf(st *badgerstore.Store) ([]List, error) {
	lists, err := publish.Lists(st)
	if err != nil {
		return nil, err
	}
	out := make([]List, 0, len(lists))
	for _, l := range lists {
		r := List{Name: l.Info.Name, Epoch: l.Epoch, Version: l.Info.Version, Published: l.Published, Entries: l.Info.Entries,
			Hash: l.Info.Hash, HeadIssuedAt: l.HeadIssuedAt, Snapshot: l.SnapshotFile}
		if l.Err != nil {
			r.Error = l.Err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}

// Handler returns the HTTP handler of HQ's server (see the package doc).
// The caller owns the http.Server and its TLS.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == protocol.PathHealth:
		if !getOrHead(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	case strings.HasPrefix(p, protocol.PathSnapshots):
		name := p[len(protocol.PathSnapshots):]
		if _, _, _, ok := protocol.ParseSnapshotFileName(name); !ok {
			http.NotFound(w, r)
			return
		}
		s.serveFile(w, r, s.cfg.SnapshotDir, name)
	case strings.HasPrefix(p, protocol.PathDeltas):
		list, file, ok := strings.Cut(p[len(protocol.PathDeltas):], "/")
		_, _, okFile := protocol.ParseDeltaFileName(file)
		if !ok || protocol.ValidListName(list) != nil || !okFile {
			http.NotFound(w, r)
			return
		}
		s.serveFile(w, r, s.cfg.DeltaDir, list+"/"+file)
	case p == protocol.PathHeads || p == protocol.PathKeys || strings.HasPrefix(p, protocol.PathLists):
		if !s.serveAdminPost(w, r) {
			http.NotFound(w, r)
		}
	case p == protocol.PathPosts || p == protocol.PathHits || p == protocol.PathAudit || p == protocol.PathListsIndex ||
		(p == protocol.PathUsers && s.cfg.Accounts != nil):
		if !getOrHead(w, r) || !s.authorised(w, r) {
			return
		}
		s.serveQuery(w, r)
	default:
		http.NotFound(w, r)
	}
}

func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// serveFile serves name (already validated) from dir through an os.Root,
// so that not even a symbolic link leads out of dir, with Range and
// If-Range support (http.ServeContent) and a strong ETag.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, dir, name string) {
	if !getOrHead(w, r) {
		return
	}
	if dir == "" {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		s.fileError(w, r, err)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		s.fileError(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.fileError(w, r, err)
		return
	}
	if !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	// Snapshot and delta files are written once under their name
	// (temp file, rename); size and modification time identify the
	// content, so the ETag is strong and Range resumes can use If-Range.
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func (s *Server) fileError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "path escapes") {
		http.NotFound(w, r)
		return
	}
	s.log.Error("Could not serve a file", logkey.Error, err.Error())
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// authorised checks the admin bearer token, or without one that the
// client is on loopback: /v1/hits returns personal data, and /v1/lists
// and /v1/heads publish.
func (s *Server) authorised(w http.ResponseWriter, r *http.Request) bool {
	if tok := s.cfg.AdminToken; tok != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="watchpost-hq"`)
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return true
	}
	http.Error(w, "admin requests are served to loopback clients only unless a token is configured", http.StatusForbidden)
	return false
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	var body any
	switch r.URL.Path {
	case protocol.PathListsIndex:
		lists, err := s.Lists()
		if err != nil {
			s.queryError(w, err)
			return
		}
		body = ListsResponse{Lists: lists}
	case protocol.PathPosts:
		posts, err := s.Posts(r.Context())
		if err != nil {
			s.queryError(w, err)
			return
		}
		body = PostsResponse{Now: s.clock.Now().UTC(), Posts: posts}
	case protocol.PathHits:
		f, err := parseHitFilter(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		recs, err := s.Hits(r.Context(), f)
		if err != nil {
			s.queryError(w, err)
			return
		}
		if recs == nil {
			recs = []Record{}
		}
		body = HitsResponse{Records: recs}
	case protocol.PathAudit:
		post := r.URL.Query().Get("post")
		if err := protocol.ValidatePostID(post); err != nil {
			http.Error(w, "post: "+err.Error(), http.StatusBadRequest)
			return
		}
		rep, err := s.VerifyAudit(r.Context(), post)
		if err != nil && rep.Post == "" {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if err != nil {
			s.queryError(w, err)
			return
		}
		body = rep
	case protocol.PathUsers:
		users, err := s.cfg.Accounts(r.Context())
		if err != nil {
			s.queryError(w, err)
			return
		}
		body = users
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.log.Debug("Could not write a query response", logkey.Error, err.Error())
	}
}

func (s *Server) queryError(w http.ResponseWriter, err error) {
	s.log.Error("Query failed", logkey.Error, err.Error())
	http.Error(w, "query failed: "+err.Error(), http.StatusInternalServerError)
}

// parseHitFilter reads post, list, kind, since (RFC 3339) and limit.
func parseHitFilter(r *http.Request) (HitFilter, error) {
	q := r.URL.Query()
	f := HitFilter{Post: q.Get("post"), List: q.Get("list"), Kind: q.Get("kind")}
	if f.Kind != "" && !validKind(f.Kind) {
		return f, fmt.Errorf("kind %q: want hit, disposition, status, telemetry or audit", f.Kind)
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("since: %w", err)
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxHitsLimit {
			return f, fmt.Errorf("limit %q: want 1 to %d", v, MaxHitsLimit)
		}
		f.Limit = n
	}
	return f, nil
}

// HitFilterQuery is the URL query of GET /v1/hits for f (for clients).
func HitFilterQuery(f HitFilter) string {
	v := url.Values{}
	for k, val := range map[string]string{"post": f.Post, "list": f.List, "kind": f.Kind} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v.Encode()
}
