package hqserver

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// DefaultMaxEditionSize bounds an uploaded edition (Config.MaxEditionSize):
// the UN list is a few MB and the OFAC set tens of MB, so 2 GiB leaves room
// for national lists without letting a client fill HQ's disk.
const DefaultMaxEditionSize int64 = 2 << 30

// uploadPattern names the temporary files of uploaded editions in
// Config.UploadDir; leftovers of a crash are removed by New.
const uploadPattern = "edition-*.upload"

// PublishResponse is the JSON body of POST /v1/lists/<list>/editions: what
// the publication did (publish.Result).
type PublishResponse struct {
	List    string `json:"list"`
	Epoch   uint64 `json:"epoch"`
	Version uint64 `json:"version"`
	// Created: the edition created the list; Changed: it made a new
	// version; neither: it equals the current version, nothing published.
	Created       bool      `json:"created"`
	Changed       bool      `json:"changed"`
	Upserts       int       `json:"upserts"`
	Deletes       int       `json:"deletes"`
	Entries       int       `json:"entries"`
	Hash          string    `json:"hash"`
	DeltaBytes    int       `json:"delta_bytes"`
	NoDelta       string    `json:"no_delta,omitempty"`
	SnapshotFile  string    `json:"snapshot_file,omitempty"`
	SnapshotBytes int64     `json:"snapshot_bytes"`
	HeadBytes     int       `json:"head_bytes"`
	HeadIssuedAt  time.Time `json:"head_issued_at,omitzero"`
}

// NewPublishResponse converts a publication's result.
func NewPublishResponse(r publish.Result) PublishResponse {
	return PublishResponse{
		List: r.List, Epoch: r.Epoch, Version: r.Version, Created: r.Created, Changed: r.Changed,
		Upserts: r.Upserts, Deletes: r.Deletes, Entries: r.Entries, Hash: r.Hash,
		DeltaBytes: r.DeltaBytes, NoDelta: r.NoDelta, SnapshotFile: r.SnapshotFile,
		SnapshotBytes: r.SnapshotBytes, HeadBytes: r.HeadBytes, HeadIssuedAt: r.HeadIssuedAt,
	}
}

// Result converts the response back (for clients printing it).
func (p PublishResponse) Result() publish.Result {
	return publish.Result{
		List: p.List, Epoch: p.Epoch, Version: p.Version, Created: p.Created, Changed: p.Changed,
		Upserts: p.Upserts, Deletes: p.Deletes, Entries: p.Entries, Hash: p.Hash,
		DeltaBytes: p.DeltaBytes, NoDelta: p.NoDelta, SnapshotFile: p.SnapshotFile,
		SnapshotBytes: p.SnapshotBytes, HeadBytes: p.HeadBytes, HeadIssuedAt: p.HeadIssuedAt,
	}
}

// HeadJSON is one list's line of HeadsResponse (publish.HeadResult).
type HeadJSON struct {
	List       string    `json:"list"`
	Epoch      uint64    `json:"epoch"`
	Version    uint64    `json:"version"`
	IssuedAt   time.Time `json:"issued_at"`
	ValidUntil time.Time `json:"valid_until"`
	Bytes      int       `json:"bytes"`
	Announced  bool      `json:"announced,omitempty"`
}

// HeadsResponse is the JSON body of POST /v1/heads: the heads re-signed
// and, when some lists failed (status 500), their errors.
type HeadsResponse struct {
	Heads []HeadJSON `json:"heads"`
	Error string     `json:"error,omitempty"`
}

// Results converts the heads back (for clients printing them).
func (h HeadsResponse) Results() []publish.HeadResult {
	out := make([]publish.HeadResult, 0, len(h.Heads))
	for _, x := range h.Heads {
		out = append(out, publish.HeadResult{List: x.List, Epoch: x.Epoch, Version: x.Version,
			IssuedAt: x.IssuedAt, ValidUntil: x.ValidUntil, Bytes: x.Bytes, Announced: x.Announced})
	}
	return out
}

// beginOp registers an admin operation that uses the store and the
// publisher. Its context ends with the request or when Run stops, and Run
// waits for it before returning (so that the caller does not close the
// store under a publication). ok is false once Run is stopping.
func (s *Server) beginOp(parent context.Context) (ctx context.Context, end func(), ok bool) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.opStopped {
		return nil, nil, false
	}
	s.ops.Add(1)
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(s.opCtx, cancel)
	return ctx, func() { stop(); cancel(); s.ops.Done() }, true
}

// stopOps refuses new admin operations, cancels the running ones and
// waits for them.
func (s *Server) stopOps() {
	s.opMu.Lock()
	s.opStopped = true
	s.opMu.Unlock()
	s.opCancel()
	s.ops.Wait()
}

// serveAdminPost routes the admin POST paths; false when p is none.
func (s *Server) serveAdminPost(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	var list string
	switch {
	case p == protocol.PathHeads, p == protocol.PathKeys:
	case strings.HasPrefix(p, protocol.PathLists) && strings.HasSuffix(p, protocol.EditionsSuffix):
		list = strings.TrimSuffix(strings.TrimPrefix(p, protocol.PathLists), protocol.EditionsSuffix)
		if list == "" || strings.Contains(list, "/") {
			return false
		}
	default:
		return false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	if !s.authorised(w, r) {
		return true
	}
	if s.cfg.Publisher == nil {
		http.Error(w, "this server has no publisher: it cannot publish (run watchpost-hq serve with --key)", http.StatusServiceUnavailable)
		return true
	}
	ctx, end, ok := s.beginOp(r.Context())
	if !ok {
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return true
	}
	defer end()
	switch p {
	case protocol.PathHeads:
		s.serveHeads(ctx, w)
	case protocol.PathKeys:
		s.serveKeys(ctx, w, r)
	default:
		s.serveEdition(ctx, w, r, list)
	}
	return true
}

// requestError is a publication refused because of what the client sent
// (4xx); anything else is HQ's failure (5xx).
type requestError struct {
	status int
	err    error
}

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, err: fmt.Errorf(format, args...)}
}

// sinkError marks an error returned by the publisher's emit callback (the
// store), as opposed to one of reading the edition.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

func (s *Server) serveEdition(ctx context.Context, w http.ResponseWriter, r *http.Request, list string) {
	start := time.Now()
	res, err := s.publishUpload(ctx, w, r, list)
	if err != nil {
		status := http.StatusInternalServerError
		var re *requestError
		if errors.As(err, &re) {
			status = re.status
			// Not the message: it may quote the edition's content.
			s.log.Warn("Refused an edition", logkey.List, list, logkey.Status, status)
		} else {
			s.log.Error("Could not publish an edition", logkey.List, list, logkey.Error, err.Error())
		}
		http.Error(w, err.Error(), status)
		return
	}
	s.log.Info("Published an edition received over HTTP", logkey.List, res.List, logkey.Version, res.Version, logkey.Changed, res.Changed,
		logkey.Upserts, res.Upserts, logkey.Deletes, res.Deletes, logkey.Elapsed, time.Since(start).Round(time.Millisecond))
	writeJSON(w, http.StatusOK, NewPublishResponse(res), s)
}

// publishUpload checks the request, stores its body in a temporary file
// under UploadDir and publishes it. Nothing is published when it fails
// before the publisher commits.
func (s *Server) publishUpload(ctx context.Context, w http.ResponseWriter, r *http.Request, list string) (publish.Result, error) {
	q := r.URL.Query()
	format, source := q.Get("format"), q.Get("source")
	ed := publish.Edition{List: list, Format: format, Source: source, Action: q.Get("action")}
	if ed.Source == "" {
		ed.Source = "HTTP upload"
	}
	switch {
	case protocol.ValidListName(list) != nil:
		return publish.Result{}, badRequest("list %q: %v", list, protocol.ValidListName(list))
	case format == "":
		return publish.Result{}, badRequest("format is required (one of %s)", strings.Join(EditionFormats(), ", "))
	case !slices.Contains(importer.Formats(), format):
		return publish.Result{}, badRequest("unknown format %q (known: %s)", format, strings.Join(importer.Formats(), ", "))
	}
	actor := q.Get("actor")
	if actor == "" {
		actor = "unnamed"
	}
	actor += " (admin API from " + r.RemoteAddr + ")"
	if q.Get("confirm_shrink") == "true" {
		ed.ConfirmShrink = true
		if s.cfg.AuditShrink != nil {
			ed.ShrinkConfirmed = func(ctx context.Context, sh engine.Shrink) error { return s.cfg.AuditShrink(ctx, actor, sh) }
		}
	}
	if s.cfg.AuditSinglePerson != nil {
		if q.Get("single_person") != "true" {
			return publish.Result{}, &requestError{status: http.StatusForbidden, err: errors.New(
				"editions are published by two people in HQ's console; automation says single_person=true (watchpost-hq publish --single-person), which HQ's audit trail records")}
		}
		if err := s.cfg.AuditSinglePerson(ctx, actor, list); err != nil {
			return publish.Result{}, fmt.Errorf("record the single-person publication: %w", err)
		}
	}
	limit := s.cfg.MaxEditionSize
	if r.ContentLength > limit {
		return publish.Result{}, &requestError{status: http.StatusRequestEntityTooLarge,
			err: fmt.Errorf("edition of %d bytes exceeds the limit of %d", r.ContentLength, limit)}
	}
	path, err := s.receive(w, r, limit)
	if err != nil {
		return publish.Result{}, err
	}
	defer os.Remove(path)

	name := source // the file name in the importer's errors
	if name == "" {
		name = "edition"
	}
	var readErr error // what the source function returned, if anything
	var res publish.Result
	if importer.IsDocumentFormat(format) {
		res, err = s.cfg.Publisher.PublishDocuments(ctx, ed, func(emit func(*engine.Document) error) error {
			readErr = readChecked(func(e func(*engine.Document) error) error { return importer.ReadPath(format, path, nil, e) }, checkDocument, emit, name, path)
			return readErr
		})
	} else {
		res, err = s.cfg.Publisher.PublishEntries(ctx, ed, func(emit func(*engine.Entry) error) error {
			readErr = readChecked(func(e func(*engine.Entry) error) error { return ReadEdition(format, path, name, e) }, checkEntry, emit, name, path)
			return readErr
		})
	}
	if err == nil {
		return res, nil
	}
	if errors.Is(err, engine.ErrShrink) {
		// The guard's refusal: the client confirms with confirm_shrink=true.
		return publish.Result{}, &requestError{status: http.StatusConflict, err: err}
	}
	var sink *sinkError
	if errors.Is(err, publish.ErrWrongKind) || readErr != nil && !errors.As(readErr, &sink) && ctx.Err() == nil {
		// The edition could not be read (the importer's file:line error)
		// or broke the protocol's limits: the client's to fix.
		return publish.Result{}, &requestError{status: http.StatusBadRequest, err: err}
	}
	return publish.Result{}, err
}

// EditionFormats are the formats of a names list's edition (HQ's
// console proposes these): ofac-csv as a zip archive of the folder's
// files. An upload may also be docs-csv, a documents list.
func EditionFormats() []string {
	return slices.DeleteFunc(importer.Formats(), importer.IsDocumentFormat)
}

// receive streams the request body to a new file under UploadDir.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, limit int64) (string, error) {
	dir := s.cfg.UploadDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, uploadPattern)
	if err != nil {
		return "", fmt.Errorf("edition upload: %w", err)
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, limit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n == 0 {
		err = badRequest("empty request body: send the edition file")
	}
	if err != nil {
		os.Remove(f.Name())
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return "", &requestError{status: http.StatusRequestEntityTooLarge, err: fmt.Errorf("edition exceeds the limit of %d bytes", limit)}
		case errors.As(err, new(*requestError)):
			return "", err
		}
		return "", fmt.Errorf("edition upload: %w", err)
	}
	return f.Name(), nil
}

// ReadEdition imports the uploaded edition file at path (ofac-csv as a
// zip of the folder's files); name replaces the
// temporary file's path in the importer's file:line errors.
func ReadEdition(format, path, name string, emit func(*engine.Entry) error) error {
	var err error
	if format == importer.FormatOFACCSV {
		var zr *zip.ReadCloser
		if zr, err = zip.OpenReader(path); err != nil {
			return badRequest("format %s is a folder format: want a zip archive of the folder's files (sdn.csv, alt.csv, add.csv, sdn_comments.csv), got %s, which is not one (%v)", format, name, err)
		}
		defer zr.Close()
		err = importer.ReadOFAC(zr, emit)
	} else {
		err = importer.ReadPath(format, path, emit, nil)
	}
	var ie *importer.Error
	if errors.As(err, &ie) && ie.File == path {
		ie.File = name
	}
	return err
}

// readChecked reads an edition with read, checks each record, and hands
// it to emit; an error of emit (the store's) comes back as a sinkError,
// and an edition without records is the client's error. The importer's
// errors name the upload as name instead of its temporary path.
func readChecked[T any](read func(emit func(*T) error) error, check func(*T) error, emit func(*T) error, name, path string) error {
	n := 0
	err := read(func(r *T) error {
		if err := check(r); err != nil {
			return err
		}
		n++
		if err := emit(r); err != nil {
			return &sinkError{err}
		}
		return nil
	})
	var ie *importer.Error
	if errors.As(err, &ie) && ie.File == path {
		ie.File = name
	}
	if err == nil && n == 0 {
		err = badRequest("the edition has no entries; refusing to publish an empty list")
	}
	return err
}

// checkDocument applies the protocol's limits on a documents row.
func checkDocument(d *engine.Document) error {
	if err := protocol.ValidDocument(d); err != nil {
		return badRequest("%v", err)
	}
	return nil
}

// checkEntry applies the protocol's limits on an entry (as the publisher
// does) so that a violation is reported as the client's error.
func checkEntry(e *engine.Entry) error {
	if n := len(e.ID); n == 0 || n > protocol.MaxIDLen || strings.IndexByte(e.ID, 0) >= 0 {
		return badRequest("entry id %q: want 1 to %d bytes without NUL", e.ID, protocol.MaxIDLen)
	}
	if n := len(engine.MarshalEntry(e)); n > protocol.MaxEntrySize {
		return badRequest("entry %q: record of %d bytes exceeds the protocol's %d", e.ID, n, protocol.MaxEntrySize)
	}
	return nil
}

func (s *Server) serveHeads(ctx context.Context, w http.ResponseWriter) {
	res, err := s.cfg.Publisher.RepublishHeads(ctx)
	s.n.headRuns.Add(1)
	body := HeadsResponse{Heads: make([]HeadJSON, 0, len(res))}
	lists := make([]string, 0, len(res))
	for _, r := range res {
		body.Heads = append(body.Heads, HeadJSON{List: r.List, Epoch: r.Epoch, Version: r.Version,
			IssuedAt: r.IssuedAt, ValidUntil: r.ValidUntil, Bytes: r.Bytes, Announced: r.Announced})
		lists = append(lists, r.List)
	}
	status := http.StatusOK
	if err != nil {
		s.n.headErrors.Add(1)
		status = http.StatusInternalServerError
		body.Error = err.Error()
		s.log.Error("Could not re-sign heads on request", logkey.Error, err.Error())
	}
	s.log.Info("Re-signed heads on request", logkey.Lists, lists)
	writeJSON(w, status, body, s)
}

func writeJSON(w http.ResponseWriter, status int, body any, s *Server) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.log.Debug("Could not write a response", logkey.Error, err.Error())
	}
}

// removeUploads removes the temporary files a crash left in dir.
func removeUploads(dir string) {
	if dir == "" {
		return
	}
	names, _ := filepath.Glob(filepath.Join(dir, uploadPattern))
	for _, n := range names {
		os.Remove(n)
	}
}
