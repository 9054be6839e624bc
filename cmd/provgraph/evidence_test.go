package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// provgraph evidence writes the package of an endpoint at an instant, with flags
// before or after the ID, and its manifest's digests are the files'.
func TestEvidenceWritesThePackage(t *testing.T) {
	t.Parallel()
	s := recordCLISlice(t)
	tk, mv, endpoint, conn := s.tk, s.mv, s.endpoint, s.conn
	dir := t.TempDir()
	file := filepath.Join(dir, "evidence.zip")
	at := time.Now().UTC().Format(time.RFC3339Nano)
	// The ID first, flags after it.
	code, out, errOut := runCLI(append([]string{"evidence", endpoint, "--at", at, "-o", file}, conn...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "wrote "+file)
	zr, err := zip.OpenReader(file)
	require.NoError(t, err)
	t.Cleanup(func() { zr.Close() })
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		files[f.Name], err = io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
	}
	var man struct {
		Subject, At string
		Files       []struct {
			Name, SHA256 string
			Bytes        int64
		}
	}
	require.NoError(t, json.Unmarshal(files["manifest.json"], &man))
	assert.Equal(t, endpoint, man.Subject)
	assert.Equal(t, at, man.At)
	require.Len(t, man.Files, 4)
	for _, f := range man.Files {
		sum := sha256.Sum256(files[f.Name])
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, f.Name)
	}
	assert.Contains(t, string(files["lineage.prov.json"]), "datasetVersion")

	// provgraph evidence check reads the package offline; a changed file is named.
	code, out, errOut = runCLI("evidence", "check", file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "4 files match the manifest")
	assert.Contains(t, out, "give --key")
	var rezipped bytes.Buffer
	zw := zip.NewWriter(&rezipped)
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		require.NoError(t, err)
		data := files[f.Name]
		if f.Name == "report.pdf" {
			data = append(slices.Clone(data), '\n')
		}
		_, err = w.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	changed := filepath.Join(dir, "changed.zip")
	require.NoError(t, os.WriteFile(changed, rezipped.Bytes(), 0o644))
	code, _, errOut = runCLI("evidence", "check", changed)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "NOT OK: report.pdf: its SHA-256 or size is not the manifest's")
	code, _, errOut = runCLI("evidence", "check", "--key", "not a key", file)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--key")

	// Flags first, and the default file name in the working directory.
	code, out, errOut = runCLI(append(append([]string{"evidence", "--output", filepath.Join(dir, "mv.zip")}, conn...), mv.Key)...)
	require.Equal(t, 0, code, errOut)
	_, err = os.Stat(filepath.Join(dir, "mv.zip"))
	assert.NoError(t, err, out)

	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"evidence"}, 2, "give exactly one ID"},
		{[]string{"evidence", endpoint, mv.Key}, 2, "give exactly one ID"},
		{[]string{"evidence", endpoint, "--at", "yesterday"}, 2, `--at "yesterday"`},
		{append([]string{"evidence", "dataset:s3://x:y"}, conn...), 1, "node: must be the ID of an endpoint"},
		{append([]string{"evidence", "endpoint:none-" + tk, "-o", filepath.Join(dir, "none.zip")}, conn...), 1, "no node has ID"},
	} {
		code, _, errOut := runCLI(c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.says, "%v", c.args)
	}
	_, err = os.Stat(filepath.Join(dir, "none.zip"))
	assert.True(t, os.IsNotExist(err), "no package is written when it cannot be made")
}
