package hqcli

import (
	"archive/zip"
	"context"
	"fmt"
	"github.com/watchpost/watchpost/daemon/usercmd"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// publishRemote uploads the edition at path to a running serve, which
// publishes it (POST /v1/lists/<list>/editions). An ofac-csv folder is
// sent as a zip of its files.
func publishRemote(ctx context.Context, c *hqClient, ed publish.Edition, path string) (publish.Result, error) {
	if ed.Source == "" {
		ed.Source = path // as PublishEdition does with the store opened here
	}
	q := url.Values{"format": {ed.Format}, "source": {ed.Source}, "single_person": {"true"}, "actor": {usercmd.Actor()}}
	if ed.Action != "" {
		q.Set("action", ed.Action)
	}
	if ed.ConfirmShrink {
		q.Set("confirm_shrink", "true")
	}
	body, size, cleanup, err := editionBody(ed.Format, path)
	if err != nil {
		return publish.Result{}, err
	}
	defer cleanup()
	var resp hqserver.PublishResponse
	if err := c.do(ctx, http.MethodPost, protocol.EditionsPath(ed.List)+"?"+q.Encode(), body, size, &resp); err != nil {
		return publish.Result{}, err // serve's message names the list
	}
	return resp.Result(), nil
}

// editionBody opens what is uploaded for the edition at path: the file
// itself, or for an ofac-csv folder a temporary zip of its files.
func editionBody(format, path string) (io.Reader, int64, func(), error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, nil, err
	}
	if fi.IsDir() {
		if format != importer.FormatOFACCSV {
			return nil, 0, nil, fmt.Errorf("%s is a folder; format %s wants a file", path, format)
		}
		return zipFolder(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	if format == importer.FormatOFACCSV {
		magic := make([]byte, 4)
		if _, err := io.ReadFull(f, magic); err != nil || string(magic) != "PK\x03\x04" {
			f.Close()
			return nil, 0, nil, fmt.Errorf("%s is a file but not a zip archive; format %s wants the OFAC folder (sdn.csv, alt.csv, add.csv, sdn_comments.csv) or a zip archive of its files", path, format)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, 0, nil, err
		}
	}
	return f, fi.Size(), func() { f.Close() }, nil
}

// zipFolder writes the regular files of dir (not its subfolders) to a
// temporary zip archive and returns it opened for reading.
func zipFolder(dir string) (io.Reader, int64, func(), error) {
	tmp, err := os.CreateTemp("", "watchpost-edition-*.zip")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if err := writeZip(tmp, dir); err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return tmp, size, cleanup, nil
}

func writeZip(w io.Writer, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := addZipFile(zw, filepath.Join(dir, e.Name()), e.Name()); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addZipFile(zw *zip.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zf, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	_, err = io.Copy(zf, f)
	return err
}
