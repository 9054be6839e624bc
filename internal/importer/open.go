package importer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
)

// The formats `provgraph import --format` reads.
const (
	FormatOpenLineage = "openlineage"
	FormatPROVJSON    = "prov-json"
	FormatMLMD        = "mlmd"
)

// Formats lists them, in the order the CLI documents them.
var Formats = []string{FormatOpenLineage, FormatPROVJSON, FormatMLMD}

// MaxDownloadBytes is the largest file an import fetches from a URL.
const MaxDownloadBytes = 8 << 30

// Opened is a source ready to import.
type Opened struct {
	Source Source
	// Fingerprint identifies the content with its format (Options.Fingerprint).
	Fingerprint string
	// Total is how many items the source holds when known, else 0 (for progress only).
	Total int
	// Close releases what opening took (files, connections).
	Close func() error
}

// Opener opens location (a path or URL) as a source of one format.
type Opener func(ctx context.Context, location string) (Opened, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{FormatOpenLineage: openOpenLineage, FormatPROVJSON: openPROVJSON}
)

// Register makes format readable with open. The ML Metadata reader registers
// FormatMLMD this way; a format registered twice keeps the last opener.
func Register(format string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[format] = open
}

// Open opens location as a source of format.
func Open(ctx context.Context, format, location string) (Opened, error) {
	if !slices.Contains(Formats, format) {
		return Opened{}, fmt.Errorf("--format %q: must be one of %s", format, strings.Join(Formats, ", "))
	}
	openersMu.RLock()
	open := openers[format]
	openersMu.RUnlock()
	if open == nil {
		return Opened{}, fmt.Errorf("--format %s: this build of provgraph has no %s reader", format, format)
	}
	return open(ctx, location)
}

func openOpenLineage(ctx context.Context, location string) (Opened, error) {
	f, sum, lines, cleanup, err := localCopy(ctx, location)
	if err != nil {
		return Opened{}, err
	}
	return Opened{Source: NewOpenLineageNDJSON(f), Fingerprint: FormatOpenLineage + ":sha256:" + sum, Total: lines,
		Close: func() error { return errors.Join(f.Close(), cleanup()) }}, nil
}

func openPROVJSON(ctx context.Context, location string) (Opened, error) {
	f, sum, _, cleanup, err := localCopy(ctx, location)
	if err != nil {
		return Opened{}, err
	}
	defer func() { _ = f.Close(); _ = cleanup() }()
	p, err := NewPROVJSON(f)
	if err != nil {
		return Opened{}, fmt.Errorf("%s: %w", location, err)
	}
	return Opened{Source: p, Fingerprint: FormatPROVJSON + ":sha256:" + sum, Total: p.Len(), Close: func() error { return nil }}, nil
}

// localCopy opens location — a file, or an http(s) URL downloaded to a temporary file
// first — and returns it at its start with the SHA-256 of its content and its number
// of lines; cleanup removes a download.
func localCopy(ctx context.Context, location string) (f *os.File, sum string, lines int, cleanup func() error, err error) {
	cleanup = func() error { return nil }
	path := location
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		if path, err = download(ctx, location); err != nil {
			return nil, "", 0, cleanup, err
		}
		cleanup = func() error { return os.Remove(path) }
	}
	if f, err = os.Open(path); err != nil {
		return nil, "", 0, cleanup, errors.Join(err, cleanup())
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	r := bufio.NewReaderSize(f, 1<<20)
	last := byte('\n')
	for {
		n, rerr := r.Read(buf)
		h.Write(buf[:n])
		lines += bytes.Count(buf[:n], []byte("\n"))
		if n > 0 {
			last = buf[n-1]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, "", 0, cleanup, errors.Join(rerr, f.Close(), cleanup())
		}
	}
	if last != '\n' {
		lines++
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, "", 0, cleanup, errors.Join(err, f.Close(), cleanup())
	}
	return f, hex.EncodeToString(h.Sum(nil)), lines, cleanup, nil
}

// download fetches url into a temporary file (at most MaxDownloadBytes).
func download(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.CreateTemp("", "provgraph-import-*")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, MaxDownloadBytes+1))
	if err == nil && n > MaxDownloadBytes {
		err = fmt.Errorf("GET %s: larger than %d bytes", url, int64(MaxDownloadBytes))
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return "", errors.Join(err, os.Remove(f.Name()))
	}
	return f.Name(), nil
}
