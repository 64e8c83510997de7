package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/watchpost/watchpost/engine/option"
)

// Limits bound what a reader accepts from one file, so that a hostile or
// broken file (/dev/zero, an element that never ends, a quote that never
// closes) ends in an error naming the limit instead of exhausting memory.
// Zero fields take DefaultLimits' values.
type Limits struct {
	// MaxFileSize bounds the bytes of one file (each file of an OFAC
	// folder, or of the zip HQ receives, on its own).
	MaxFileSize int64
	// MaxRecord bounds one record: an INDIVIDUAL or ENTITY element of
	// the UN XML, a CSV row, a JSON line.
	MaxRecord int64
	// MaxField bounds one CSV field, and any XML token outside a record.
	MaxField int64
	// MaxDepth bounds the nesting of XML elements outside a record.
	MaxDepth int
}

// Default limits. The largest published lists are far inside them: the
// UN Consolidated List XML is about 3 MB with records under 50 kB, the
// OFAC sdn.csv about 5 MB with rows under 20 kB.
const (
	DefaultMaxFileSize = 512 << 20
	DefaultMaxRecord   = 4 << 20
	DefaultMaxField    = 1 << 20
	DefaultMaxDepth    = 16
)

// DefaultLimits are the limits of the readers without a Limits argument.
var DefaultLimits = Limits{MaxFileSize: DefaultMaxFileSize, MaxRecord: DefaultMaxRecord, MaxField: DefaultMaxField, MaxDepth: DefaultMaxDepth}

// orDefault fills l's zero fields from DefaultLimits.
func (l Limits) orDefault() Limits {
	l.MaxFileSize = option.Positive(l.MaxFileSize, DefaultMaxFileSize)
	l.MaxRecord = option.Positive(l.MaxRecord, DefaultMaxRecord)
	l.MaxField = option.Positive(l.MaxField, DefaultMaxField)
	l.MaxDepth = option.Positive(l.MaxDepth, DefaultMaxDepth)
	return l
}

// ErrLimit is wrapped by every *LimitError, for errors.Is.
var ErrLimit = errors.New("import limit exceeded")

// LimitError says which limit a file broke and where.
type LimitError struct {
	Format string // the format being read ("un-xml")
	What   string // "file", "record", "field", "nesting"
	Limit  int64  // bytes (levels for nesting)
	Offset int64  // byte offset where the record or token began (-1: not read, the file's size broke it)
}

func (e *LimitError) Error() string {
	if e.What == "nesting" {
		return fmt.Sprintf("%s: elements nested deeper than the limit of %d levels (at byte %d)", e.Format, e.Limit, e.Offset)
	}
	msg := fmt.Sprintf("%s: %s larger than the limit of %s", e.Format, e.What, sizeText(e.Limit))
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" (at byte %d)", e.Offset)
	}
	return msg
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }

// sizeText writes n bytes in MiB or KiB when exact, else in bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// boundedReader reads at most limit bytes of a file in total, and at
// most window bytes past the last mark (the start of the record or
// token being read), failing with a *LimitError beyond either. Readers
// above it buffer a little ahead (bufio: 4 to 64 kB), which the limits
// are far above.
type boundedReader struct {
	r      io.Reader
	format string
	n      int64 // bytes read so far
	limit  int64
	mark   int64
	window int64
	what   string // what the window bounds ("record", "field")
	err    error  // sticky: the limit error once reached
}

func newBoundedReader(r io.Reader, format string, l Limits) *boundedReader {
	return &boundedReader{r: r, format: format, limit: l.MaxFileSize, window: l.MaxField, what: "field"}
}

// setWindow bounds what is read from offset on to window bytes of what.
func (b *boundedReader) setWindow(offset, window int64, what string) {
	b.mark, b.window, b.what = offset, window, what
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// One byte past a limit is read to tell "exactly at it" from "over".
	if max := min(b.limit, b.mark+b.window) + 1 - b.n; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.limit:
		b.err = &LimitError{Format: b.format, What: "file", Limit: b.limit, Offset: b.limit}
	case b.n-b.mark > b.window:
		b.err = &LimitError{Format: b.format, What: b.what, Limit: b.window, Offset: b.mark}
	default:
		return n, err
	}
	return 0, b.err
}

// limitErr returns the *LimitError behind err, if the bounded reader
// produced it (a decoder may wrap or replace a reader's error).
func (b *boundedReader) limitErr(err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		return le
	}
	if b.err != nil {
		return b.err
	}
	return nil
}

// csvRows reads CSV rows within limits: each row at most MaxRecord bytes,
// each field at most MaxField, the file at most MaxFileSize.
type csvRows struct {
	cr   *csv.Reader
	br   *boundedReader
	lim  Limits
	file string
}

// newCSVRows reads r (through decode, if not nil, above the bounded
// reader: a charset) as CSV of format.
func newCSVRows(r io.Reader, file, format string, lim Limits, decode func(io.Reader) io.Reader) *csvRows {
	lim = lim.orDefault()
	br := newBoundedReader(r, format, lim)
	br.setWindow(0, lim.MaxRecord, "row")
	var in io.Reader = br
	if decode != nil {
		in = decode(in)
	}
	cr := csv.NewReader(skipBOM(in))
	return &csvRows{cr: cr, br: br, lim: lim, file: file}
}

// each hands fn every row and the line it starts on, and returns nil
// after the last row, or the first error of the reader or of fn.
func (c *csvRows) each(fn func(line int, rec []string) error) error {
	for {
		rec, err := c.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		line, _ := c.cr.FieldPos(0)
		if err := fn(line, rec); err != nil {
			return err
		}
	}
}

// next returns the next row (io.EOF after the last), or an *Error.
func (c *csvRows) next() ([]string, error) {
	c.br.setWindow(c.cr.InputOffset(), c.lim.MaxRecord, "row")
	rec, err := c.cr.Read()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		if le := c.br.limitErr(err); le != nil {
			return nil, &Error{File: c.file, Err: le}
		}
		return nil, csvError(c.file, err)
	}
	for i, f := range rec {
		if int64(len(f)) > c.lim.MaxField {
			line, _ := c.cr.FieldPos(i)
			return nil, &Error{File: c.file, Line: line, Err: &LimitError{Format: c.br.format, What: fmt.Sprintf("field %d", i+1),
				Limit: c.lim.MaxField, Offset: c.cr.InputOffset() - int64(len(f))}}
		}
	}
	return rec, nil
}
