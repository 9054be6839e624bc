package mlmd_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"testing"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest/mlmd"
	"github.com/provgraph/provgraph/internal/mariadbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadsWhatMLMetadataWroteToMariaDB has ml-metadata write the same pipelines into a
// real MariaDB and checks that reading it over a mysql:// URL gives exactly the records
// the SQLite database gave.
func TestReadsWhatMLMetadataWroteToMariaDB(t *testing.T) {
	port := mariadbtest.Start(t)
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
	_, err := mlmd.Open(context.Background(), fmt.Sprintf("mysql://ml:hunter2@127.0.0.1:%d/mlmd", mariadbtest.FreePort(t)))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), "mysql://ml:xxxxx@127.0.0.1:")
}
