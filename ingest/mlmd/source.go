package mlmd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/provgraph/provgraph/apperr"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver: no cgo, no system library
)

// SupportedSchemaVersion is the MLMD schema version (table MLMDEnv) this package reads:
// the one ml-metadata 1.17.1 creates. Other versions have other tables and columns.
const SupportedSchemaVersion = 10

// mysqlScheme starts a MySQL (or MariaDB) URL: mysql://user:password@host:port/database.
const mysqlScheme = "mysql://"

// DefaultMySQLPort is the port of a MySQL URL that names none.
const DefaultMySQLPort = "3306"

// Source is an open ML Metadata database, read-only.
type Source struct {
	db *sql.DB
	// Name is the database as the user may see it: the SQLite path, or the MySQL URL
	// without its password.
	Name string
	// path is the SQLite file, "" for MySQL.
	path string
}

// Open opens the ML Metadata database at location — a SQLite file path or a MySQL URL
// mysql://user:password@host:port/database — and checks its schema version.
func Open(ctx context.Context, location string) (*Source, error) {
	var (
		src *Source
		err error
	)
	if strings.HasPrefix(location, mysqlScheme) {
		src, err = openMySQL(location)
	} else {
		src, err = openSQLite(location)
	}
	if err != nil {
		return nil, err
	}
	if err := src.checkSchema(ctx); err != nil {
		return nil, errors.Join(err, src.Close())
	}
	return src, nil
}

// Close closes the database.
func (s *Source) Close() error { return s.db.Close() }

func openSQLite(path string) (*Source, error) {
	if path == "" {
		return nil, apperr.Invalid("source", "must be a SQLite file or a mysql:// URL")
	}
	if _, err := os.Stat(path); err != nil {
		// SQLite would create a missing file; an import must not.
		return nil, apperr.Invalid("source", "cannot read SQLite file %s: %v", path, err)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open SQLite file %s: %w", path, err)
	}
	return &Source{db: db, Name: path, path: path}, nil
}

// MySQLConfig turns a mysql:// URL into the driver's configuration.
func MySQLConfig(location string) (*mysql.Config, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, apperr.Invalid("source", "is not a URL: %v", err)
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, apperr.Invalid("source", "a mysql:// URL names a user: mysql://user:password@host:port/database")
	}
	database := strings.TrimPrefix(u.Path, "/")
	if database == "" || strings.Contains(database, "/") {
		return nil, apperr.Invalid("source", "a mysql:// URL ends with the database name: mysql://user:password@host:port/database")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, apperr.Invalid("source", "a mysql:// URL has no query or fragment")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, apperr.Invalid("source", "a mysql:// URL names a host: mysql://user:password@host:port/database")
	}
	if port == "" {
		port = DefaultMySQLPort
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = database
	cfg.Timeout = 10 * time.Second
	cfg.ReadTimeout = 5 * time.Minute
	return cfg, nil
}

func openMySQL(location string) (*Source, error) {
	cfg, err := MySQLConfig(location)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, apperr.Invalid("source", "%v", err)
	}
	u, _ := url.Parse(location)
	return &Source{db: sql.OpenDB(conn), Name: u.Redacted()}, nil
}

// checkSchema refuses a database that is not an ML Metadata database of the supported
// schema version.
func (s *Source) checkSchema(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT `schema_version` FROM `MLMDEnv`")
	if err != nil {
		return fmt.Errorf("%s is not an ML Metadata database (reading its schema version, table MLMDEnv: %w)", s.Name, err)
	}
	defer func() { _ = rows.Close() }()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("read MLMD schema version of %s: %w", s.Name, err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read MLMD schema version of %s: %w", s.Name, err)
	}
	switch {
	case len(versions) != 1:
		return apperr.Invalid("source", "%s records %d MLMD schema versions; an ML Metadata database records one", s.Name, len(versions))
	case versions[0] < SupportedSchemaVersion:
		return apperr.Invalid("source", "%s has MLMD schema version %d; this import reads version %d (what ml-metadata 1.17.1 writes): "+
			"upgrade it first by connecting ml-metadata 1.17.1 with enable_upgrade_migration", s.Name, versions[0], SupportedSchemaVersion)
	case versions[0] > SupportedSchemaVersion:
		return apperr.Invalid("source", "%s has MLMD schema version %d, written by an ml-metadata newer than this import knows; it reads version %d (ml-metadata 1.17.1)",
			s.Name, versions[0], SupportedSchemaVersion)
	}
	return nil
}
