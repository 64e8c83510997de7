package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/durable"
)

// Defaults of Options.
const (
	// DefaultStableFor is how long a file's size and modification time must
	// stay the same before it is taken. Two seconds covers a copy that
	// stalls briefly; a writer that pauses longer must use the rename
	// convention.
	DefaultStableFor = 2 * time.Second
	// DefaultInterval is the time between scans: how long a dropped file
	// waits at most, on top of DefaultStableFor.
	DefaultInterval = 2 * time.Second
	// DefaultMaxSize bounds a file. A PAXLST of 16 MiB is about 40,000
	// travellers, far above the largest aircraft; anything bigger is a
	// mistake (a wrong file, a concatenation) and goes to failed/.
	DefaultMaxSize = 16 << 20
)

// Subdirectories of the intake directory.
const (
	DirProcessing = "processing"
	DirDone       = "done"
	DirFailed     = "failed"
)

// Suffixes of the files written next to a finished file.
const (
	ResultSuffix = ".result.json"
	ReasonSuffix = ".reason.txt"
)

// ErrRejected, wrapped in an error a Processor returns, says the file can
// never be processed (too many travellers for one transaction, say): the
// file goes to failed/ with the error as its reason instead of being
// retried. The error text must hold no traveller data.
var ErrRejected = errors.New("rejected by the processor")

// File is one claimed file, read and checked, handed to the Processor.
type File struct {
	// ID is the hex SHA-256 of Name, a zero byte and the content: the same
	// bytes under the same name always get the same ID. It is the
	// idempotency key of the screening.
	ID string
	// Name is the file's name as dropped (without directory).
	Name   string
	Format Format
	Size   int64
	// Travellers are the people read from the file, in file order; at
	// least one.
	Travellers []Traveller
	// Warnings counts the parser warnings or bad lines skipped (only with
	// Options.Lenient; otherwise such a file never reaches the Processor).
	Warnings int
}

// Result is what the Processor did with a file. It holds counts only, no
// traveller data: it is written to done/<name>.result.json.
type Result struct {
	// Screened is the number of travellers screened.
	Screened int `json:"screened"`
	// Errors is the number of travellers the screener refused (no usable
	// name, say); Screened + Errors is the number of travellers.
	Errors int `json:"errors"`
	// Hits is the total number of hits; HitTravellers the number of
	// travellers with at least one.
	Hits          int `json:"hits"`
	HitTravellers int `json:"hit_travellers"`
	// Replayed is true when the file's ID was already in the Processor's
	// ledger (a crash after the commit and before the move to done/): the
	// counts are the recorded ones and nothing was screened again.
	Replayed bool `json:"replayed,omitempty"`
}

// Processor screens the travellers of one file and records the outcome.
//
// Process MUST be idempotent per File.ID. Intake calls it again with the
// same File (same ID, same travellers) when it cannot know whether an earlier
// call committed: after a crash between Process returning and the file
// reaching done/, or after Process returned an error. Concretely:
//
//   - The outcome (the screening records, hits queued for HQ, …) and a
//     ledger entry "ID was processed, with this Result" must be committed in
//     one atomic, durable step (one badgerstore Records transaction, with
//     the outbox joined through RecordsTxn.Records), and that step must read
//     the ledger entry first: if the ID is already there, Process writes
//     nothing and returns the stored Result with Replayed set, and a nil
//     error.
//   - A nil error means that step is durable. Intake then moves the file to
//     done/; it never calls Process for that file again unless the move was
//     lost.
//   - An error means the step did not commit, or may not have: the file
//     stays in processing/ and Process is called again at the next scan (or
//     start). Wrap ErrRejected for an error that retrying cannot fix; the
//     file then goes to failed/.
//   - If the outcome cannot fit one transaction, each write must be
//     idempotent on its own, keyed by ID and Traveller.Index (ID + "/" +
//     Index makes a stable screening reference), and the ledger entry must
//     be committed last.
//   - Process must honour ctx: when it ends, return promptly (an error is
//     fine; the file is finished at the next start).
//
// Process is never called concurrently by one Intake, and must not keep f
// after it returns. A panic is not recovered.
type Processor interface {
	Process(ctx context.Context, f *File) (Result, error)
}

// Options configure an Intake.
type Options struct {
	// Dir is the intake directory; it and its subdirectories are created if
	// missing. Required.
	Dir string
	// Processor screens and records each file. Required.
	Processor Processor
	// StableFor is how long a file must stay unchanged before it is taken
	// (DefaultStableFor when zero).
	StableFor time.Duration
	// Interval is the time between scans of Run (DefaultInterval when zero).
	Interval time.Duration
	// MaxSize is the largest file accepted, in bytes (DefaultMaxSize when
	// zero).
	MaxSize int64
	// Lenient screens the travellers of a PAXLST with parser warnings, or
	// of a JSON file with bad lines, instead of rejecting the file; the
	// number skipped is in the result. Off by default: done/ then means
	// the whole file was screened.
	Lenient bool
	// Clock is the time source (clock.System when nil).
	Clock clock.Clock
	// Logger receives the intake's logs (discarded when nil).
	Logger *slog.Logger
	// AfterClaim and AfterProcess, if set, are called with the file's
	// name once it is in processing/, and once the Processor has returned
	// for it (before the move to done/). They inject faults in tests (a
	// panic simulates a crash there); production leaves them nil.
	AfterClaim, AfterProcess func(name string)
}

// Intake watches one directory. Create it with New, then call Run (or
// ScanOnce). Its methods are safe for concurrent use; scans are serialised.
type Intake struct {
	dir       string
	proc      Processor
	stableFor time.Duration
	interval  time.Duration
	maxSize   int64
	lenient   bool
	clock     clock.Clock
	log       *slog.Logger

	mu   sync.Mutex // held for a whole scan
	seen map[string]observation

	lastErr   string // last scan error logged at Warn, for rate limiting
	lastErrAt time.Time

	afterClaim, afterProcess func(name string) // Options.AfterClaim, AfterProcess
}

// observation is what a scan saw of a file in the intake directory.
type observation struct {
	size  int64
	mtime time.Time
	since time.Time // clock time when size and mtime were first seen so
}

// New checks opts and creates the directory and its subdirectories.
func New(opts Options) (*Intake, error) {
	if opts.Dir == "" {
		return nil, errors.New("intake: no directory given")
	}
	if opts.Processor == nil {
		return nil, errors.New("intake: no processor given")
	}
	if opts.StableFor < 0 || opts.Interval < 0 || opts.MaxSize < 0 {
		return nil, fmt.Errorf("intake: negative option (stable_for %v, interval %v, max size %d)", opts.StableFor, opts.Interval, opts.MaxSize)
	}
	in := &Intake{
		dir:       opts.Dir,
		proc:      opts.Processor,
		stableFor: orDefault(opts.StableFor, DefaultStableFor),
		interval:  orDefault(opts.Interval, DefaultInterval),
		maxSize:   orDefault(opts.MaxSize, DefaultMaxSize),
		lenient:   opts.Lenient,
		clock:     opts.Clock,
		log:       opts.Logger,
		seen:      map[string]observation{},

		afterClaim:   opts.AfterClaim,
		afterProcess: opts.AfterProcess,
	}
	if in.clock == nil {
		in.clock = clock.System{}
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	in.log = in.log.With(logkey.Component, "intake")
	for _, d := range []string{opts.Dir, in.sub(DirProcessing), in.sub(DirDone), in.sub(DirFailed)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("intake: create %s: %w", d, err)
		}
	}
	return in, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Dir returns the intake directory.
func (in *Intake) Dir() string { return in.dir }

func (in *Intake) sub(name string) string { return filepath.Join(in.dir, name) }

// Run scans the directory every Interval until ctx ends, then returns nil.
// A scan error is logged (repeats at most once a minute) and the scan is
// retried at the next tick. A file being processed when ctx ends is
// finished or left in processing/ for the next start; Run starts no
// goroutine.
func (in *Intake) Run(ctx context.Context) error {
	in.log.Info("Intake started", logkey.File, in.dir)
	for {
		err := in.ScanOnce(ctx)
		if ctx.Err() != nil {
			in.log.Info("Intake stopped", logkey.File, in.dir)
			return nil
		}
		in.noteScan(err)
		t := in.clock.NewTimer(in.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			in.log.Info("Intake stopped", logkey.File, in.dir)
			return nil
		case <-t.C():
		}
	}
}

// noteScan logs a scan error, at Warn when it is new or a minute has passed
// since it was last logged there, else at Debug.
func (in *Intake) noteScan(err error) {
	if err == nil {
		if in.lastErr != "" {
			in.log.Info("Intake scan succeeded again")
			in.lastErr = ""
		}
		return
	}
	now := in.clock.Now()
	if msg := err.Error(); msg != in.lastErr || now.Sub(in.lastErrAt) >= time.Minute {
		in.lastErr, in.lastErrAt = msg, now
		in.log.Warn("Intake scan failed; retrying", logkey.Error, err)
		return
	}
	in.log.Debug("Intake scan failed; retrying", logkey.Error, err)
}

// ScanOnce runs one scan: it finishes the files in processing/, then takes
// the eligible files of the directory one at a time, in name order. It
// returns at the first error that stops the queue (a Processor or disk
// error; the file stays in processing/) or when ctx ends. Files that cannot
// be claimed (held open on Windows, say) are skipped until the next scan
// and reported in the error once the others are done.
func (in *Intake) ScanOnce(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()

	pending, err := regularFiles(in.sub(DirProcessing))
	if err != nil {
		return fmt.Errorf("list %s: %w", DirProcessing, err)
	}
	for _, name := range pending {
		if err := ctx.Err(); err != nil {
			return err
		}
		in.log.Info("Intake resuming claimed file", logkey.File, name)
		if err := in.handle(ctx, name); err != nil {
			return err
		}
	}

	ready, err := in.stable()
	if err != nil {
		return err
	}
	var claimErrs []error
	for _, name := range ready {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(in.sub(DirProcessing), name)
		if _, err := os.Lstat(dst); err == nil {
			in.log.Debug("Intake waits: same name in processing", logkey.File, name)
			continue
		}
		if err := os.Rename(filepath.Join(in.dir, name), dst); err != nil {
			delete(in.seen, name)
			if !errors.Is(err, fs.ErrNotExist) {
				claimErrs = append(claimErrs, fmt.Errorf("claim %s: %w", name, err))
			}
			continue
		}
		delete(in.seen, name)
		in.log.Debug("Intake claimed file", logkey.File, name)
		if in.afterClaim != nil {
			in.afterClaim(name)
		}
		if err := in.handle(ctx, name); err != nil {
			return err
		}
	}
	return errors.Join(claimErrs...)
}

// stable observes the files of the intake directory and returns, in name
// order, those unchanged for stableFor.
func (in *Intake) stable() ([]string, error) {
	entries, err := os.ReadDir(in.dir)
	if err != nil {
		return nil, fmt.Errorf("list intake directory: %w", err)
	}
	now := in.clock.Now()
	present := make(map[string]bool, len(entries))
	var ready []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || ignored(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		present[name] = true
		o, ok := in.seen[name]
		if !ok || o.size != info.Size() || !o.mtime.Equal(info.ModTime()) {
			in.seen[name] = observation{size: info.Size(), mtime: info.ModTime(), since: now}
			continue
		}
		if now.Sub(o.since) >= in.stableFor {
			ready = append(ready, name) // ReadDir sorts by name
		}
	}
	for name := range in.seen {
		if !present[name] {
			delete(in.seen, name)
		}
	}
	return ready, nil
}

// ignored reports whether a name is, by convention, still being written.
func ignored(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(name, ".") || strings.HasSuffix(l, ".tmp") || strings.HasSuffix(l, ".part")
}

// regularFiles lists the regular, non-hidden files of dir in name order.
func regularFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// fileID is the identity of a file: SHA-256 over its name, a zero byte and
// its content.
func fileID(name string, content []byte) string {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// handle reads, checks, processes and finishes processing/<name>. It
// returns an error only when the file stays in processing/.
func (in *Intake) handle(ctx context.Context, name string) error {
	path := filepath.Join(in.sub(DirProcessing), name)
	format, ok := formatOf(name)
	if !ok {
		return in.reject(name, "", badInput(nil, "unknown extension %q: want .edi, .txt, .paxlst (PAXLST) or .jsonl, .json (JSON travellers)", filepath.Ext(name)))
	}
	data, size, err := readLimited(path, in.maxSize)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if data == nil {
		return in.reject(name, "", badInput(nil, "file is %d bytes, larger than the limit of %d bytes", size, in.maxSize))
	}
	id := fileID(name, data)
	travellers, warnings, err := parseFile(format, data, in.lenient)
	if err != nil {
		var bad *inputError
		if errors.As(err, &bad) {
			return in.reject(name, id, bad)
		}
		return fmt.Errorf("parse %s: %w", name, err)
	}
	f := &File{ID: id, Name: name, Format: format, Size: int64(len(data)), Travellers: travellers, Warnings: warnings}
	res, err := in.proc.Process(ctx, f)
	if err != nil {
		if errors.Is(err, ErrRejected) {
			return in.reject(name, id, badInput(nil, "%v", err))
		}
		return fmt.Errorf("process %s (left in %s): %w", name, DirProcessing, err)
	}
	if in.afterProcess != nil {
		in.afterProcess(name)
	}
	sum := Summary{
		ID: id, Name: name, Format: format, Size: f.Size,
		Travellers: len(travellers), Warnings: warnings, Result: res,
		ProcessedAt: in.clock.Now().UTC(),
	}
	final, err := in.finish(name, DirDone, ResultSuffix, id, sum.marshal)
	if err != nil {
		return err
	}
	in.log.Info("Intake screened file", logkey.File, name, logkey.DoneAs, final, logkey.ID, id,
		logkey.Travellers, len(travellers), logkey.Hits, res.Hits, logkey.Replayed, res.Replayed, logkey.Warnings, warnings)
	return nil
}

// readLimited reads path whole if it is at most limit bytes; for a larger
// file it returns nil data and the size seen.
func readLimited(path string, limit int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if info.Size() > limit {
		return nil, info.Size(), nil
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(data)) > limit { // grew since Stat
		return nil, int64(len(data)), nil
	}
	if data == nil {
		data = []byte{}
	}
	return data, int64(len(data)), nil
}

// reject writes failed/<final>.reason.txt and moves the file to
// failed/<final>.
func (in *Intake) reject(name, id string, bad *inputError) error {
	failedAt := in.clock.Now().UTC()
	final, err := in.finish(name, DirFailed, ReasonSuffix, id, func() ([]byte, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "file: %s\n", name)
		if id != "" {
			fmt.Fprintf(&b, "id: %s\n", id)
		}
		fmt.Fprintf(&b, "failed_at: %s\n", failedAt.Format(time.RFC3339))
		fmt.Fprintf(&b, "reason: %s\n", bad.Summary)
		if len(bad.Details) > 0 {
			b.WriteString("details:\n")
			for _, d := range bad.Details {
				fmt.Fprintf(&b, "  %s\n", d)
			}
		}
		return []byte(b.String()), nil
	})
	if err != nil {
		return err
	}
	in.log.Warn("Intake rejected file", logkey.File, name, logkey.FailedAs, final, logkey.ID, id, logkey.Reason, bad.Summary)
	for _, d := range bad.Details {
		in.log.Debug("Intake rejection detail", logkey.File, name, logkey.Reason, d)
	}
	return nil
}

// maxSuffix bounds the search for a free name in done/ or failed/.
const maxSuffix = 100000

// finish moves processing/<name> to sub/<final>, writing the side file
// sub/<final><suffix> first. final is name, or name with the first free
// numeric suffix: a name whose file or side file exists is taken, except
// for a side file without its file that records the same id (an earlier
// finish of this very file, interrupted before its move), which is
// replaced.
func (in *Intake) finish(name, sub, suffix, id string, side func() ([]byte, error)) (string, error) {
	dir := in.sub(sub)
	src := filepath.Join(in.sub(DirProcessing), name)
	for i := 0; i < maxSuffix; i++ {
		final := suffixed(name, i)
		if _, err := os.Lstat(filepath.Join(dir, final)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		sidePath := filepath.Join(dir, final+suffix)
		if _, err := os.Lstat(sidePath); !errors.Is(err, fs.ErrNotExist) && !sideHasID(sidePath, id) {
			continue
		}
		content, err := side()
		if err != nil {
			return "", err
		}
		if err := writeFileAtomic(sidePath, content); err != nil {
			return "", fmt.Errorf("write %s/%s: %w", sub, final+suffix, err)
		}
		if err := os.Rename(src, filepath.Join(dir, final)); err != nil {
			return "", fmt.Errorf("move %s to %s/%s: %w", name, sub, final, err)
		}
		if err := durable.SyncDir(dir); err != nil {
			return "", fmt.Errorf("sync %s: %w", sub, err)
		}
		if err := durable.SyncDir(in.sub(DirProcessing)); err != nil {
			return "", fmt.Errorf("sync %s: %w", DirProcessing, err)
		}
		return final, nil
	}
	return "", fmt.Errorf("move %s to %s: no free name after %d tries", name, sub, maxSuffix)
}

// suffixed returns name for i == 0, else name with ".<i>" before its
// extension ("AF123.edi" → "AF123.2.edi").
func suffixed(name string, i int) string {
	if i == 0 {
		return name
	}
	ext := filepath.Ext(name)
	if ext == name { // ".edi" cannot happen (dot files are ignored), but stay sane
		ext = ""
	}
	return fmt.Sprintf("%s.%d%s", strings.TrimSuffix(name, ext), i, ext)
}

// sideHasID reports whether the side file at path was written for the file
// with this id (an empty id never matches).
func sideHasID(path, id string) bool {
	if id == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var sum struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &sum) == nil {
		return sum.ID == id
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "id: "+id {
			return true
		}
	}
	return false
}

// writeFileAtomic writes path through a hidden temporary file in the same
// directory, synced, then renamed over path.
func writeFileAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
