// Package pyclient runs the real Python clients (mlflow, openlineage-python, and
// ml-metadata, which writes the ML Metadata databases the ingest/mlmd and `provgraph
// import --format mlmd` tests read and answers their lineage) that the tests drive, from
// the virtualenv `make venv` builds (PROVGRAPH_PYTHON names another python); and the
// stock sagemaker SDK, 2.x and 3.x, from the virtualenvs `make venv-sagemaker` builds.
package pyclient

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Python returns the virtualenv's python. A missing virtualenv fails the test, never
// skips it: `make test` builds it first.
func Python(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	py := filepath.Join(root, ".data", "venv", "bin", "python")
	if env := os.Getenv("PROVGRAPH_PYTHON"); env != "" {
		py = env
	}
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("the Python clients are not installed (%v): run `make venv` (make test does)", err)
	}
	return py
}

// SageMakerPython returns the python of the virtualenv with the sagemaker SDK of a
// generation (2 or 3) and boto3: .data/venv-sagemaker<generation>, or what
// PROVGRAPH_SAGEMAKER<generation>_PYTHON names. A missing one fails the test.
func SageMakerPython(t testing.TB, generation int) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	gen := strconv.Itoa(generation)
	py := filepath.Join(root, ".data", "venv-sagemaker"+gen, "bin", "python")
	if env := os.Getenv("PROVGRAPH_SAGEMAKER" + gen + "_PYTHON"); env != "" {
		py = env
	}
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("the sagemaker SDK %s.x is not installed (%v): run `make venv-sagemaker` (make test does)", gen, err)
	}
	return py
}

// Run runs script with the virtualenv's python and the environment given, within
// timeout, and returns its standard output; a failure ends the test with its output.
func Run(t testing.TB, timeout time.Duration, env []string, script string, args ...string) string {
	t.Helper()
	return RunWith(t, Python(t), timeout, env, script, args...)
}

// RunWith is Run with another python (SageMakerPython's).
func RunWith(t testing.TB, python string, timeout time.Duration, env []string, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s failed: %v\nstdout:\n%s\nstderr:\n%s", script, err, out.String(), errOut.String())
	}
	return out.String()
}
