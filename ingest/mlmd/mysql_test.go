package mlmd_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest/mlmd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mariaDBStartTimeout bounds how long a test waits for its MariaDB to accept connections.
const mariaDBStartTimeout = 60 * time.Second

// startMariaDB starts a MariaDB server of its own (Debian's mariadb-server) on a free
// loopback port with its data in a temporary directory, and stops it when the test
// ends. It returns the port. Without mariadbd the test fails in CI and is skipped
// elsewhere, saying what to install.
func startMariaDB(t *testing.T) int {
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

	port := freePort(t)
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
	_, err = db.Exec("CREATE DATABASE mlmd")
	require.NoError(t, err)
	return port
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// TestReadsWhatMLMetadataWroteToMariaDB has ml-metadata write the same pipelines into a
// real MariaDB and checks that reading it over a mysql:// URL gives exactly the records
// the SQLite database gave.
func TestReadsWhatMLMetadataWroteToMariaDB(t *testing.T) {
	port := startMariaDB(t)
	times := writeMLMD(t, "mysql", "127.0.0.1", strconv.Itoa(port), "root", "mlmd")
	location := fmt.Sprintf("mysql://root@127.0.0.1:%d/mlmd", port)

	recs := flatten(readAll(t, location, mlmd.Options{BatchSize: 8, RecordedBy: "importer"}))
	require.Len(t, recs, 21+18+46)
	cfg, err := mlmd.MySQLConfig(location)
	require.NoError(t, err)
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	checkTimes(t, recs, times, db)
	compareGolden(t, "tfx_kfp", recs)

	_, err = db.ExecContext(context.Background(), "UPDATE MLMDEnv SET schema_version = 8")
	require.NoError(t, err)
	_, err = mlmd.Open(context.Background(), location)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has MLMD schema version 8")
}

func TestMySQLURLs(t *testing.T) {
	good := []struct{ url, user, pass, addr, db string }{
		{"mysql://root@127.0.0.1:3307/mlmd", "root", "", "127.0.0.1:3307", "mlmd"},
		{"mysql://ml:s%40cret@db.internal/metadata", "ml", "s@cret", "db.internal:3306", "metadata"},
		{"mysql://ml:pw@[::1]:3306/m", "ml", "pw", "[::1]:3306", "m"},
	}
	for _, c := range good {
		t.Run(c.url, func(t *testing.T) {
			cfg, err := mlmd.MySQLConfig(c.url)
			require.NoError(t, err)
			assert.Equal(t, c.user, cfg.User)
			assert.Equal(t, c.pass, cfg.Passwd)
			assert.Equal(t, "tcp", cfg.Net)
			assert.Equal(t, c.addr, cfg.Addr)
			assert.Equal(t, c.db, cfg.DBName)
		})
	}
	bad := []struct{ url, says string }{
		{"mysql://127.0.0.1/mlmd", "names a user"},
		{"mysql://root@127.0.0.1", "ends with the database name"},
		{"mysql://root@127.0.0.1/a/b", "ends with the database name"},
		{"mysql://root@/mlmd", "names a host"},
		{"mysql://root@h/mlmd?tls=true", "no query or fragment"},
		{"mysql://root@h:port/mlmd", "is not a URL"},
	}
	for _, c := range bad {
		t.Run(c.url, func(t *testing.T) {
			_, err := mlmd.MySQLConfig(c.url)
			require.Error(t, err)
			e, ok := apperr.As(err)
			require.True(t, ok)
			assert.Equal(t, "source", e.Field)
			assert.Contains(t, err.Error(), c.says)
		})
	}
}

func TestSourceNameHidesThePassword(t *testing.T) {
	// Nothing listens on the port: Open fails at the schema check, naming the source
	// without its password.
	_, err := mlmd.Open(context.Background(), fmt.Sprintf("mysql://ml:hunter2@127.0.0.1:%d/mlmd", freePort(t)))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), "mysql://ml:xxxxx@127.0.0.1:")
}
