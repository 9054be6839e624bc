package mlflow

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// The artifact proxy keeps files under Options.ArtifactRoot, at the path MLflow's
// client names after /api/2.0/mlflow-artifacts/artifacts/ (for a run:
// <experiment id>/<run id>/artifacts/<file>). Paths are cleaned and must stay inside
// the root.

// localPath maps an artifact path to a file under the root, refusing anything that
// would leave it.
func (s *server) localPath(p string) (string, error) {
	if s.opts.ArtifactRoot == "" {
		return "", errors.New("no artifact root is configured (PROVGRAPH_ARTIFACT_ROOT)")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("path %q must not contain .. segments", p)
		}
	}
	// A cleaned absolute path joined to the root cannot leave it.
	return filepath.Join(s.opts.ArtifactRoot, filepath.FromSlash(path.Clean("/"+p))), nil
}

// artifact uploads (PUT) or downloads (GET) one file.
func (s *server) artifact(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPut {
		methodNotAllowed(w, "GET, PUT", fmt.Sprintf("method %s is not allowed: artifacts take GET and PUT", r.Method))
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, artifactsPrefix)
	file, err := s.localPath(rel)
	if err != nil || rel == "" {
		writeError(w, http.StatusBadRequest, codeInvalid, fmt.Sprintf("path: %v", err))
		return
	}
	switch r.Method {
	case http.MethodPut:
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			writeError(w, http.StatusInternalServerError, codeInternal, "cannot store the artifact")
			return
		}
		tmp, err := os.CreateTemp(filepath.Dir(file), ".upload-*")
		if err != nil {
			writeError(w, http.StatusInternalServerError, codeInternal, "cannot store the artifact")
			return
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, http.MaxBytesReader(w, r.Body, s.opts.MaxArtifactBytes))
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, codeInvalid, fmt.Sprintf("the artifact is larger than the limit of %d bytes", s.opts.MaxArtifactBytes))
			return
		case err != nil:
			writeError(w, http.StatusInternalServerError, codeInternal, "the artifact could not be stored")
			return
		}
		if err := os.Rename(tmp.Name(), file); err != nil {
			writeError(w, http.StatusInternalServerError, codeInternal, "cannot store the artifact")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case http.MethodGet:
		f, err := os.Open(file)
		if err != nil {
			writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no artifact at %q", rel))
			return
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || st.IsDir() {
			writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no artifact file at %q", rel))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, f)
	}
}

// listArtifacts lists a directory: GET /api/2.0/mlflow-artifacts/artifacts?path=...
func (s *server) listArtifacts(w http.ResponseWriter, r *http.Request) {
	rel := r.URL.Query().Get("path")
	dir, err := s.localPath(rel)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalid, fmt.Sprintf("path: %v", err))
		return
	}
	entries, err := os.ReadDir(dir)
	files := []map[string]any{}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			// A file: MLflow lists it as itself.
			files = append(files, map[string]any{"path": path.Base(rel), "is_dir": false, "file_size": st.Size()})
			writeJSON(w, http.StatusOK, map[string]any{"files": files})
			return
		}
		writeError(w, http.StatusInternalServerError, codeInternal, "cannot list artifacts")
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".upload-") {
			continue
		}
		f := map[string]any{"path": e.Name(), "is_dir": e.IsDir()}
		if info, err := e.Info(); err == nil && !e.IsDir() {
			f["file_size"] = info.Size()
		}
		files = append(files, f)
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files})
}
