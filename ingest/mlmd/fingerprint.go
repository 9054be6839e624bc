package mlmd

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// fingerprintTables are the tables whose row counts and largest ids (and, where rows
// change, latest update time) say what a MySQL database holds.
var fingerprintTables = []struct{ name, id, updated string }{
	{"Type", "`id`", "0"},
	{"Artifact", "`id`", "MAX(`last_update_time_since_epoch`)"},
	{"Execution", "`id`", "MAX(`last_update_time_since_epoch`)"},
	{"Context", "`id`", "MAX(`last_update_time_since_epoch`)"},
	{"Event", "`id`", "0"},
	{"ParentContext", "0", "0"}, {"Attribution", "`id`", "0"}, {"Association", "`id`", "0"},
	{"ArtifactProperty", "0", "0"}, {"ExecutionProperty", "0", "0"},
}

// Fingerprint identifies what the database holds, so that importing it again resumes
// and importing it after it changed starts afresh: for a SQLite file the SHA-256 of the
// file, for MySQL the SHA-256 of each table's row count and largest id (MLMD only adds
// rows; an update moves last_update_time_since_epoch, which counts too). It names the
// database, without a password.
func (s *Source) Fingerprint(ctx context.Context) (string, error) {
	h := sha256.New()
	if s.path != "" {
		f, err := os.Open(s.path)
		if err != nil {
			return "", fmt.Errorf("fingerprint %s: %w", s.Name, err)
		}
		defer func() { _ = f.Close() }()
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("fingerprint %s: %w", s.Name, err)
		}
		return "sqlite:sha256:" + hex.EncodeToString(h.Sum(nil)), nil
	}
	for _, t := range fingerprintTables {
		q := "SELECT COUNT(*), COALESCE(MAX(" + t.id + "), 0), COALESCE(" + t.updated + ", 0) FROM `" + t.name + "`"
		var n, maxID, last sql.NullInt64
		if err := s.db.QueryRowContext(ctx, q).Scan(&n, &maxID, &last); err != nil {
			return "", fmt.Errorf("fingerprint %s: table %s: %w", s.Name, t.name, err)
		}
		fmt.Fprintf(h, "%s %d %d %d\n", t.name, n.Int64, maxID.Int64, last.Int64)
	}
	return "mysql:sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
