package importer

import (
	"fmt"
	"os"

	"github.com/watchpost/watchpost/engine"
)

// Format names accepted by ReadPath.
const (
	FormatUNXML   = "un-xml"   // UN Security Council Consolidated List XML file
	FormatOFACCSV = "ofac-csv" // OFAC SDN legacy CSV folder (sdn.csv, alt.csv, …)
	FormatCSV     = "csv"      // Watchpost native list CSV
	FormatJSONL   = "jsonl"    // Watchpost native JSON lines
	FormatDocsCSV = "docs-csv" // document-only list CSV
)

// Formats returns the format names ReadPath accepts.
func Formats() []string {
	return []string{FormatUNXML, FormatOFACCSV, FormatCSV, FormatJSONL, FormatDocsCSV}
}

// IsDocumentFormat reports whether a format holds documents only (and so
// feeds a document list rather than a names list).
func IsDocumentFormat(f string) bool { return f == FormatDocsCSV }

// ReadPath imports path in format: a folder for ofac-csv, a file
// otherwise. Entries go to emitEntry, documents (docs-csv) to emitDoc; the
// callback the format needs must not be nil. DefaultLimits bound the
// file.
func ReadPath(format, path string, emitEntry func(*engine.Entry) error, emitDoc func(*engine.Document) error) error {
	return ReadPathLimited(format, path, DefaultLimits, emitEntry, emitDoc)
}

// ReadPathLimited is ReadPath within lim (zero fields: DefaultLimits').
// A file over MaxFileSize (by its size, or by what it yields: a device, a
// pipe) is an error naming the file, the format and the limit.
func ReadPathLimited(format, path string, lim Limits, emitEntry func(*engine.Entry) error, emitDoc func(*engine.Document) error) error {
	lim = lim.orDefault()
	switch format {
	case FormatUNXML, FormatOFACCSV, FormatCSV, FormatJSONL:
		if emitEntry == nil {
			return fmt.Errorf("import %s: format %s needs an entry callback", path, format)
		}
	case FormatDocsCSV:
		if emitDoc == nil {
			return fmt.Errorf("import %s: format %s needs a document callback", path, format)
		}
	default:
		return fmt.Errorf("import %s: unknown format %q (known: %v)", path, format, Formats())
	}
	if format == FormatOFACCSV {
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("import %s: format %s wants a folder holding sdn.csv (and alt.csv, add.csv, sdn_comments.csv), got a file", path, format)
		}
		if err := ReadOFACLimited(os.DirFS(path), lim, emitEntry); err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	} else if st.IsDir() {
		return fmt.Errorf("import %s: format %s wants a file, got a folder", path, format)
	} else if st.Mode().IsRegular() && st.Size() > lim.MaxFileSize {
		return &Error{File: path, Err: &LimitError{Format: format, What: fmt.Sprintf("file (%d bytes)", st.Size()), Limit: lim.MaxFileSize, Offset: -1}}
	}
	switch format {
	case FormatUNXML:
		return readUNXML(f, path, lim, emitEntry)
	case FormatCSV:
		return readCSV(f, path, lim, emitEntry)
	case FormatJSONL:
		return readJSONL(f, path, lim, emitEntry)
	default:
		return readDocsCSV(f, path, lim, emitDoc)
	}
}
