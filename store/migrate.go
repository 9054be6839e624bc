package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Migration is one step of the database schema: idempotent statements (constraints,
// indexes) that bring the database from Version-1 to Version.
type Migration struct {
	Version     int
	Description string
	Statements  []string
	// Indexes names the indexes the statements create (a constraint's index has the
	// constraint's name); Migrate waits until they are online before it reports ready.
	Indexes []string
	// Retired names indexes of earlier steps that this one drops: Migrate no longer
	// waits for them.
	Retired []string
	// Backfills bring existing data to the step's shape after its statements ran. Each
	// runs in an auto-commit transaction, so it may commit in batches (CALL { ... } IN
	// TRANSACTIONS), and must be idempotent: a migration interrupted half-way runs its
	// backfills again on the next start.
	Backfills []string
}

// Migrator applies migrations for one component and records the version reached in a
// (:SchemaVersion {component}) node. Statements must be idempotent (IF NOT EXISTS), so
// that several provgraph instances starting together converge.
type Migrator struct {
	Component  string
	Migrations []Migration
}

// ErrSchemaTooNew is returned when the database was migrated by a newer provgraph.
var ErrSchemaTooNew = errors.New("database schema is newer than this provgraph supports")

// SchemaComponent names provgraph's own schema in the SchemaVersion node.
const SchemaComponent = "provgraph"

// Schema is provgraph's database schema, oldest step first. Append new steps; never
// edit a released one.
var Schema = Migrator{
	Component: SchemaComponent,
	Migrations: []Migration{
		{
			Version:     1,
			Description: "unique node keys; one schema-version record per component",
			Statements: []string{
				`CREATE CONSTRAINT schema_version_component IF NOT EXISTS
				 FOR (s:` + LabelSchemaVersion + `) REQUIRE s.component IS UNIQUE`,
				`CREATE CONSTRAINT node_key IF NOT EXISTS
				 FOR (n:` + LabelNode + `) REQUIRE n.key IS UNIQUE`,
			},
			Indexes: []string{"schema_version_component", "node_key"},
		},
		{
			Version:     2,
			Description: "look up deployments by variant and artifacts by URI",
			Statements: []string{
				`CREATE INDEX deployed_to_variant IF NOT EXISTS
				 FOR ()-[d:` + RelDeployedTo + `]-() ON (d.variant)`,
				`CREATE INDEX artifact_uri IF NOT EXISTS
				 FOR (a:` + string(KindArtifact) + `) ON (a.uri)`,
			},
			Indexes: []string{"deployed_to_variant", "artifact_uri"},
		},
		trackingMigration,
		searchScopeMigration,
		apiTokenMigration,
		auditLogMigration,
		transformModelMigration,
		nodeSearchMigration,
		loggedModelMigration,
		endpointStateMigration,
		importMarkerMigration,
		auditTreeMigration,
		runGroupNameMigration,
		nodeSearchAsyncMigration,
		nodeKeyTextMigration,
		metricTailSegmentsMigration,
	},
}

// Latest is the version the migrations end at.
func (m Migrator) Latest() int {
	latest := 0
	for _, mig := range m.Migrations {
		latest = max(latest, mig.Version)
	}
	return latest
}

const (
	cypherSchemaVersion    = `MATCH (s:` + LabelSchemaVersion + ` {component: $component}) RETURN s.version AS version`
	cypherSetSchemaVersion = `
MERGE (s:` + LabelSchemaVersion + ` {component: $component})
SET s.version = CASE WHEN coalesce(s.version, 0) < $version THEN $version ELSE s.version END,
    s.updatedAt = datetime.transaction()`
)

// Version returns the schema version recorded in the database, 0 for a new database.
func (s *Store) Version(ctx context.Context, m Migrator) (int, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (int, error) {
		recs, err := collect(ctx, tx, cypherSchemaVersion, map[string]any{"component": m.Component})
		if err != nil {
			return 0, fmt.Errorf("read schema version: %w", err)
		}
		if len(recs) == 0 {
			return 0, nil
		}
		v, _ := recs[0].Get("version")
		n, _ := v.(int64)
		return int(n), nil
	})
}

// Migrate brings the database to m's latest version and returns the versions before
// and after. A database at a newer version than m knows is refused with
// ErrSchemaTooNew and left untouched.
func (s *Store) Migrate(ctx context.Context, m Migrator) (from, to int, err error) {
	from, err = s.Version(ctx, m)
	if err != nil {
		return 0, 0, err
	}
	latest := m.Latest()
	if from > latest {
		return from, from, fmt.Errorf("%w: the database %q is at %s schema version %d, this provgraph knows versions up to %d; upgrade provgraph",
			ErrSchemaTooNew, s.db, m.Component, from, latest)
	}
	for _, mig := range m.Migrations {
		if mig.Version <= from {
			continue
		}
		if err := s.schemaStep(ctx, mig); err != nil {
			return from, from, fmt.Errorf("schema migration %d (%s): %w", mig.Version, mig.Description, err)
		}
		for _, stmt := range mig.Backfills {
			if err := s.backfill(ctx, stmt); err != nil {
				return from, from, fmt.Errorf("schema migration %d (%s): backfill: %w", mig.Version, mig.Description, err)
			}
		}
		if _, err := write(ctx, s, SystemActor, ActionSchemaMigrate, func(tx neo4j.ManagedTransaction, au *audit) (struct{}, error) {
			au.target("schema:" + m.Component + "/" + strconv.Itoa(mig.Version))
			_, err := collect(ctx, tx, cypherSetSchemaVersion, map[string]any{"component": m.Component, "version": mig.Version})
			return struct{}{}, err
		}); err != nil {
			return from, from, fmt.Errorf("record schema version %d: %w", mig.Version, err)
		}
	}
	// Wait for this component's own indexes only: other components' indexes (or ones
	// being dropped) are not ours to wait for, nor ones a later step retired.
	var retiredNames []string
	for _, mig := range m.Migrations {
		retiredNames = append(retiredNames, mig.Retired...)
	}
	s.dropRetiredIndexes(ctx, retiredNames)
	for _, mig := range m.Migrations {
		for _, name := range mig.Indexes {
			if slices.Contains(retiredNames, name) {
				continue
			}
			if err := s.awaitIndex(ctx, name); err != nil {
				return from, latest, fmt.Errorf("wait for index %s: %w", name, err)
			}
		}
	}
	return from, latest, nil
}

// dropRetiredIndexes drops the retired indexes (named by steps that retired them) that
// exist again: an instance of an older version, still migrating when this database's
// step ran, can create one after the step's check, and its upkeep would then cost every
// write with the version recorded past it. A drop that fails (a user without the
// privilege to drop indexes, say) is logged: the index costs speed, not correctness,
// and provgraph serves.
func (s *Store) dropRetiredIndexes(ctx context.Context, retired []string) {
	if len(retired) == 0 {
		return
	}
	_, present, err := s.indexesAsSaid(ctx, Migration{Retired: retired})
	for _, name := range present {
		if err != nil {
			break
		}
		err = s.schemaStatement(ctx, "DROP INDEX "+name+" IF EXISTS")
	}
	if err != nil && s.log != nil {
		s.log.Warn().Err(err).Strs("retired", present).Msg("schema: an index a migration retired exists and was not dropped; writes pay for its upkeep")
	}
}

// schemaStepAttempts bounds how often a step's statements run before its indexes are
// as it says.
const schemaStepAttempts = 10

// schemaStep runs a step's statements. A step that retires indexes then checks that
// its own indexes exist and the retired ones do not, and runs its statements again
// when they are not so (up to schemaStepAttempts times). Another instance that
// starts at the same moment, still at an earlier step, can create an index this step
// has just dropped; and Neo4j takes CREATE ... IF NOT EXISTS for an index equivalent
// to one that exists, under any name, as done. The version is recorded only after
// the check passed, so a step that failed it runs again on the next start.
func (s *Store) schemaStep(ctx context.Context, mig Migration) error {
	for attempt := 1; ; attempt++ {
		for _, stmt := range mig.Statements {
			if err := s.schemaStatement(ctx, stmt); err != nil {
				return err
			}
		}
		if len(mig.Retired) == 0 {
			return nil // nothing this step drops can come back
		}
		missing, present, err := s.indexesAsSaid(ctx, mig)
		if err != nil || len(missing)+len(present) == 0 {
			return err
		}
		if attempt == schemaStepAttempts {
			var wrong []string
			if len(missing) > 0 {
				wrong = append(wrong, fmt.Sprintf("indexes %v are missing", missing))
			}
			if len(present) > 0 {
				wrong = append(wrong, fmt.Sprintf("indexes %v, which the step drops, exist", present))
			}
			return fmt.Errorf("after %d attempts, %s", attempt, strings.Join(wrong, " and "))
		}
	}
}

// indexesAsSaid returns the indexes of mig that do not exist and the ones it retired
// that do.
func (s *Store) indexesAsSaid(ctx context.Context, mig Migration) (missing, present []string, err error) {
	res, err := neo4j.ExecuteQuery(ctx, s.driver, "SHOW INDEXES YIELD name WHERE name IN $names RETURN collect(name) AS names",
		map[string]any{"names": append(slices.Clone(mig.Indexes), mig.Retired...)}, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(s.db), neo4j.ExecuteQueryWithWritersRouting())
	if err != nil {
		return nil, nil, classify(err)
	}
	names, _, err := neo4j.GetRecordValue[[]any](res.Records[0], "names")
	if err != nil {
		return nil, nil, fmt.Errorf("read the indexes of schema step %d: %w", mig.Version, err)
	}
	exists := map[string]bool{}
	for _, n := range names {
		name, _ := n.(string)
		exists[name] = true
	}
	for _, n := range mig.Indexes {
		if !exists[n] {
			missing = append(missing, n)
		}
	}
	for _, n := range mig.Retired {
		if exists[n] {
			present = append(present, n)
		}
	}
	return missing, present, nil
}

// IndexWaitSeconds bounds how long Migrate waits for one index to come online.
const IndexWaitSeconds = 300

func (s *Store) awaitIndex(ctx context.Context, name string) error {
	_, err := neo4j.ExecuteQuery(ctx, s.driver, "CALL db.awaitIndex($name, $seconds)",
		map[string]any{"name": name, "seconds": IndexWaitSeconds}, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(s.db), neo4j.ExecuteQueryWithWritersRouting())
	return classify(err)
}

// schemaStatement runs a schema command in its own auto-commit transaction; Neo4j does
// not allow schema and data changes in one transaction. When another provgraph instance
// creates the same index or constraint at the same moment, IF NOT EXISTS can still lose
// the race and report that an equivalent rule exists, and DROP INDEX ... IF EXISTS that
// the index it drops does not: that is the state we want, so a failed drop is accepted
// when the index is gone afterwards. Any other failure (a conflicting rule under
// another name, an index a constraint owns, say) stops the migration.
func (s *Store) schemaStatement(ctx context.Context, stmt string) error {
	_, err := neo4j.ExecuteQuery(ctx, s.driver, stmt, nil, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(s.db), neo4j.ExecuteQueryWithWritersRouting())
	var nerr *neo4j.Neo4jError
	if errors.As(err, &nerr) {
		switch {
		case nerr.Code == "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists":
			return nil
		case nerr.Code == "Neo.DatabaseError.Schema.IndexDropFailed":
			if m := dropIndexIfExists.FindStringSubmatch(stmt); m != nil {
				gone, cerr := s.indexGone(ctx, strings.Trim(m[1], "`"))
				if cerr != nil {
					return errors.Join(classify(err), cerr)
				}
				if gone {
					return nil
				}
			}
		}
	}
	return classify(err)
}

// dropIndexIfExists matches DROP INDEX <name> IF EXISTS, capturing the name.
var dropIndexIfExists = regexp.MustCompile(`(?is)^\s*DROP\s+INDEX\s+(\S+)\s+IF\s+EXISTS\s*$`)

// indexGone says whether no index of that name exists.
func (s *Store) indexGone(ctx context.Context, name string) (bool, error) {
	res, err := neo4j.ExecuteQuery(ctx, s.driver, "SHOW INDEXES YIELD name WHERE name = $name RETURN count(*) AS n",
		map[string]any{"name": name}, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(s.db), neo4j.ExecuteQueryWithWritersRouting())
	if err != nil {
		return false, fmt.Errorf("look for index %s after its drop failed: %w", name, classify(err))
	}
	n, _, err := neo4j.GetRecordValue[int64](res.Records[0], "n")
	return n == 0, err
}

// backfill runs a data migration in an auto-commit transaction of its own, the only
// kind in which CALL { ... } IN TRANSACTIONS may commit its batches.
func (s *Store) backfill(ctx context.Context, stmt string) (err error) {
	sess := s.driver.NewSession(ctx, s.sessionConfig(ctx, TxWrite))
	defer func() { err = errors.Join(err, sess.Close(ctx)) }()
	res, err := sess.Run(ctx, stmt, nil)
	if err != nil {
		return classify(err)
	}
	_, err = res.Consume(ctx)
	return classify(err)
}

// Ready reports whether Neo4j answers and the schema is at m's latest version; the
// error says which is not the case.
func (s *Store) Ready(ctx context.Context, m Migrator) error {
	v, err := s.Version(ctx, m)
	if err != nil {
		return err
	}
	if v != m.Latest() {
		return fmt.Errorf("schema version is %d, want %d", v, m.Latest())
	}
	return nil
}
