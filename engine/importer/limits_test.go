package importer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/watchpost/watchpost/engine"
)

// zeros is /dev/zero.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// repeat yields s forever.
type repeat struct {
	s   string
	off int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

// hostile returns head followed by 256 MiB of body repeated: on a reader
// without limits each of these is held whole in memory (hundreds of MB
// allocated) before the decoder sees anything wrong.
func hostile(head, body string) io.Reader {
	return io.MultiReader(strings.NewReader(head), io.LimitReader(&repeat{s: body}, 256<<20))
}

// allocated runs fn and returns the bytes it allocated.
func allocated(fn func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	fn()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

func noEntry(*engine.Entry) error { return nil }

// TestReadersBounded: endless zeros, an element that never ends, a start
// tag with endless attributes, a quote that never closes, an endless line:
// each reader stops with a *LimitError naming the format and the limit,
// having allocated a small multiple of the limit, not the input.
func TestReadersBounded(t *testing.T) {
	const budget = 64 << 20 // a small multiple of DefaultMaxRecord (buffers grow by doubling)
	cases := []struct {
		name, format, what string
		read               func(io.Reader) error
		in                 func() io.Reader
	}{
		{"un-xml zeros", FormatUNXML, "XML token", func(r io.Reader) error { return ReadUNXML(r, "zero.xml", noEntry) },
			func() io.Reader { return io.LimitReader(zeros{}, 256<<20) }},
		{"un-xml endless text", FormatUNXML, "XML token", func(r io.Reader) error { return ReadUNXML(r, "text.xml", noEntry) },
			func() io.Reader { return hostile("<CONSOLIDATED_LIST><INDIVIDUALS>", "x") }},
		{"un-xml endless attributes", FormatUNXML, "XML token", func(r io.Reader) error { return ReadUNXML(r, "attr.xml", noEntry) },
			func() io.Reader { return hostile("<CONSOLIDATED_LIST", ` a="b"`) }},
		{"un-xml endless record", FormatUNXML, "record (INDIVIDUAL)", func(r io.Reader) error { return ReadUNXML(r, "rec.xml", noEntry) },
			func() io.Reader {
				return hostile("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL>", "<INDIVIDUAL_ALIAS><ALIAS_NAME>X</ALIAS_NAME></INDIVIDUAL_ALIAS>")
			}},
		{"un-xml endless nesting", FormatUNXML, "nesting", func(r io.Reader) error { return ReadUNXML(r, "deep.xml", noEntry) },
			func() io.Reader { return hostile("<CONSOLIDATED_LIST>", "<A>") }},
		{"csv open quote", FormatCSV, "row", func(r io.Reader) error { return ReadCSV(r, "q.csv", noEntry) },
			func() io.Reader { return hostile("id,name\n1,\"", "x") }},
		{"csv zeros", FormatCSV, "row", func(r io.Reader) error { return ReadCSV(r, "zero.csv", noEntry) },
			func() io.Reader { return io.LimitReader(zeros{}, 256<<20) }},
		{"docs-csv open quote", FormatDocsCSV, "row", func(r io.Reader) error {
			return ReadDocsCSV(r, "d.csv", func(*engine.Document) error { return nil })
		}, func() io.Reader { return hostile("number\n\"", "x") }},
		{"jsonl endless line", FormatJSONL, "line", func(r io.Reader) error { return ReadJSONL(r, "l.jsonl", noEntry) },
			func() io.Reader { return hostile(`{"id":"`, "x") }},
		{"ofac-csv zeros", FormatOFACCSV, "row", func(r io.Reader) error {
			b, _ := io.ReadAll(io.LimitReader(r, 8<<20)) // fstest holds files in memory: 8 MiB is enough past the limit
			return ReadOFAC(fstest.MapFS{"sdn.csv": {Data: b}}, noEntry)
		}, func() io.Reader { return hostile(`1,"`, "x") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			in := c.in()
			n := allocated(func() { err = c.read(in) })
			t.Logf("allocated %.1f MB: %v", float64(n)/(1<<20), err)
			var le *LimitError
			if !errors.As(err, &le) || !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want a *LimitError", err)
			}
			if le.Format != c.format || le.What != c.what {
				t.Errorf("limit error %+v, want format %s, what %q", le, c.format, c.what)
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.File == "" {
				t.Errorf("err = %v, want an *Error naming the file", err)
			}
			for _, want := range []string{c.format, "limit"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
			if c.name != "ofac-csv zeros" && n > budget {
				t.Errorf("allocated %d MB reading it, want at most %d MB", n>>20, budget>>20)
			}
		})
	}
}

// TestFileSizeLimit: a file larger than MaxFileSize is refused by its
// size before it is read, and a stream (a device, a pipe) once it yields
// more.
func TestFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.xml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 20); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	lim := Limits{MaxFileSize: 1 << 20}
	err = ReadPathLimited(FormatUNXML, big, lim, noEntry, nil)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("3 MiB file, 1 MiB limit: %v", err)
	}

	// A well-formed stream of records past the limit.
	var b bytes.Buffer
	b.WriteString("id,name\n")
	for i := 0; b.Len() < 2<<20; i++ {
		b.WriteString(strconv.Itoa(i) + ",NAME\n")
	}
	err = readCSV(&b, "s.csv", lim, func(*engine.Entry) error { return nil })
	var le *LimitError
	if !errors.As(err, &le) || le.What != "file" || le.Limit != 1<<20 {
		t.Errorf("2 MiB stream, 1 MiB limit: %v", err)
	}

	// Exactly at the limit is fine.
	ok := "id,name\n1,A\n"
	if err := readCSV(strings.NewReader(ok), "ok.csv", Limits{MaxFileSize: int64(len(ok))}, noEntry); err != nil {
		t.Errorf("a file exactly at the limit: %v", err)
	}
}

// TestReadPathDevZero is the field report: `watchpost import --format
// un-xml /dev/zero` was OOM-killed at 23 GB.
func TestReadPathDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	for _, format := range []string{FormatUNXML, FormatCSV, FormatJSONL} {
		var err error
		n := allocated(func() { err = ReadPath(format, "/dev/zero", noEntry, nil) })
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "/dev/zero") {
			t.Errorf("%s /dev/zero: %v", format, err)
		}
		if n > 64<<20 {
			t.Errorf("%s /dev/zero: allocated %d MB", format, n>>20)
		}
	}
}

func TestFieldLimit(t *testing.T) {
	in := "id,name,remarks\n1,A," + strings.Repeat("r", 2000) + "\n"
	err := readCSV(strings.NewReader(in), "f.csv", Limits{MaxField: 1000}, noEntry)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "field 3" || le.Limit != 1000 {
		t.Fatalf("err = %v, want the field limit of field 3", err)
	}
	var ie *Error
	if !errors.As(err, &ie) || ie.Line != 2 {
		t.Errorf("err = %v, want line 2", err)
	}
}
