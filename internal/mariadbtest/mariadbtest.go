// Package mariadbtest starts a real MariaDB server for tests that read ML Metadata
// databases over MySQL (ingest/mlmd and `provgraph import --format mlmd`).
package mariadbtest

import (
	"bytes"
	"database/sql"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// Database is the database Start creates.
const Database = "mlmd"

// mariaDBStartTimeout bounds how long a test waits for its MariaDB to accept connections.
const mariaDBStartTimeout = 60 * time.Second

// Start starts a MariaDB server of its own (Debian's mariadb-server) on a free
// loopback port with its data in a temporary directory, and stops it when the test
// ends, with an empty database Database its user root may use without a password. It
// returns the port. Without mariadbd the test fails in CI and is skipped
// elsewhere, saying what to install.
func Start(t *testing.T) int {
	t.Helper()
	server, errServer := exec.LookPath("mariadbd")
	install, errInstall := exec.LookPath("mariadb-install-db")
	if errServer != nil || errInstall != nil {
		msg := "MariaDB is not installed (mariadbd, mariadb-install-db): apt-get install -y mariadb-server"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "mlmd-mariadb-") // short: the socket path has a length limit
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	cmd := exec.Command(install, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--user=root")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "mariadb-install-db: %s", out.String())

	port := FreePort(t)
	var log bytes.Buffer
	srv := exec.Command(server, "--no-defaults", "--datadir="+data, "--user=root", "--bind-address=127.0.0.1",
		"--port="+strconv.Itoa(port), "--socket="+filepath.Join(dir, "sock"), "--pid-file="+filepath.Join(dir, "pid"),
		"--skip-grant-tables", "--skip-name-resolve", "--innodb-buffer-pool-size=32M")
	srv.Stdout, srv.Stderr = &log, &log
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})

	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	deadline := time.Now().Add(mariaDBStartTimeout)
	for {
		if err = db.Ping(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MariaDB did not accept connections within %s: %v\n%s", mariaDBStartTimeout, err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, err = db.Exec("CREATE DATABASE " + Database)
	require.NoError(t, err)
	return port
}

// FreePort returns a loopback port nothing listens on (at the moment it was asked).
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}
