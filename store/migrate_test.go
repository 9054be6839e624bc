package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

func TestSchemaIsCurrentAndMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	v, err := st.Version(t.Context(), store.Schema)
	require.NoError(t, err)
	assert.Equal(t, store.Schema.Latest(), v)
	from, to, err := st.Migrate(t.Context(), store.Schema)
	require.NoError(t, err)
	assert.Equal(t, store.Schema.Latest(), from)
	assert.Equal(t, store.Schema.Latest(), to)
	require.NoError(t, st.Ready(t.Context(), store.Schema))

	// The indexes the migrations name are the ones they create, and they are online,
	// but for the ones a later migration dropped, which are gone.
	retired := map[string]bool{}
	var names, all []string
	for _, m := range store.Schema.Migrations {
		for _, n := range m.Retired {
			retired[n] = true
		}
	}
	for _, m := range store.Schema.Migrations {
		all = append(all, m.Indexes...)
		for _, n := range m.Indexes {
			if !retired[n] {
				names = append(names, n)
			}
		}
	}
	require.NotEmpty(t, retired)
	res := neo4jtest.Exec(t, "SHOW INDEXES YIELD name, state WHERE name IN $names RETURN name, state", map[string]any{"names": all})
	online := map[string]bool{}
	for _, r := range res.Records {
		name, _ := r.Get("name")
		state, _ := r.Get("state")
		online[name.(string)] = state == "ONLINE"
	}
	for _, n := range names {
		assert.True(t, online[n], "index %s is online", n)
	}
	for n := range retired {
		assert.NotContains(t, online, n, "index %s was dropped", n)
	}
}

// The migration engine, exercised on a component of the test's own, so that the
// shared database's provgraph schema is never moved: a database at an older version is
// upgraded in place, one at a newer version is refused and left as it was.
func TestMigratorUpgradesOlderAndRefusesNewer(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	index := func(name string) string {
		// The index names are built from the test token, which is [a-z0-9] only.
		return "CREATE INDEX " + name + " IF NOT EXISTS FOR (n:MigrationTest_" + tk + ") ON (n." + name + ")"
	}
	v1 := store.Migrator{Component: "test-" + tk, Migrations: []store.Migration{
		{Version: 1, Description: "first", Statements: []string{index("a_" + tk)}, Indexes: []string{"a_" + tk}},
	}}
	t.Cleanup(func() {
		neo4jtest.Exec(t, "DROP INDEX a_"+tk+" IF EXISTS", nil)
		neo4jtest.Exec(t, "DROP INDEX b_"+tk+" IF EXISTS", nil)
		neo4jtest.Exec(t, "MATCH (s:SchemaVersion {component: $c}) DELETE s", map[string]any{"c": v1.Component})
	})
	v2 := store.Migrator{Component: v1.Component, Migrations: append(v1.Migrations,
		store.Migration{Version: 2, Description: "second", Statements: []string{index("b_" + tk)}, Indexes: []string{"b_" + tk}})}

	from, to, err := st.Migrate(t.Context(), v1)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, []int{from, to})
	require.Error(t, st.Ready(t.Context(), v2), "a database behind the binary is not ready")

	from, to, err = st.Migrate(t.Context(), v2)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, []int{from, to})
	require.NoError(t, st.Ready(t.Context(), v2))

	_, _, err = st.Migrate(t.Context(), v1)
	require.ErrorIs(t, err, store.ErrSchemaTooNew)
	assert.Contains(t, err.Error(), "version 2")
	assert.Contains(t, err.Error(), "upgrade provgraph")
	v, err := st.Version(t.Context(), v1)
	require.NoError(t, err)
	assert.Equal(t, 2, v, "a refused migration leaves the version alone")
}

// A DROP INDEX ... IF EXISTS that Neo4j refuses while the index stays (here: a
// constraint owns it) stops the migration with Neo4j's reason and records nothing,
// with or without the index among the step's retired ones.
func TestMigrationStopsAtADropThatFailed(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	c := "owned_" + tk
	comp := "test-" + tk
	t.Cleanup(func() {
		neo4jtest.Exec(t, "DROP CONSTRAINT "+c+" IF EXISTS", nil)
		neo4jtest.Exec(t, "MATCH (s:SchemaVersion) WHERE s.component STARTS WITH $c DELETE s", map[string]any{"c": comp})
	})
	first := store.Migration{Version: 1, Description: "a constraint", Indexes: []string{c},
		Statements: []string{"CREATE CONSTRAINT " + c + " IF NOT EXISTS FOR (n:MigrationTest_" + tk + ") REQUIRE n.x IS UNIQUE"}}
	for i, retired := range [][]string{nil, {c}} {
		m := store.Migrator{Component: fmt.Sprintf("%s-%d", comp, i), Migrations: []store.Migration{first,
			{Version: 2, Description: "drop its index", Statements: []string{"DROP INDEX " + c + " IF EXISTS"}, Retired: retired}}}
		_, _, err := st.Migrate(t.Context(), m)
		require.Error(t, err, "retired %v", retired)
		assert.Contains(t, err.Error(), "constraint", "Neo4j's reason")
		v, err := st.Version(t.Context(), m)
		require.NoError(t, err)
		assert.Equal(t, 1, v, "retired %v: the step that failed is not recorded", retired)
	}
}

// An index a recorded step retired that exists again (an instance of an older version,
// still migrating when the step ran, created it afterwards) is dropped by the next
// Migrate, which runs no step.
func TestMigrateDropsARetiredIndexThatCameBack(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	name := "back_" + tk
	create := "CREATE INDEX " + name + " IF NOT EXISTS FOR (n:MigrationTest_" + tk + ") ON (n.back)"
	m := store.Migrator{Component: "test-" + tk, Migrations: []store.Migration{
		{Version: 1, Description: "an index", Statements: []string{create}, Indexes: []string{name}},
		{Version: 2, Description: "retire it", Statements: []string{"DROP INDEX " + name + " IF EXISTS"}, Retired: []string{name}},
	}}
	t.Cleanup(func() {
		neo4jtest.Exec(t, "DROP INDEX "+name+" IF EXISTS", nil)
		neo4jtest.Exec(t, "MATCH (s:SchemaVersion {component: $c}) DELETE s", map[string]any{"c": m.Component})
	})
	exists := func() bool {
		res := neo4jtest.Exec(t, "SHOW INDEXES YIELD name WHERE name = $name RETURN count(*) AS n", map[string]any{"name": name})
		n, _ := res.Records[0].Get("n")
		return n.(int64) > 0
	}
	_, _, err := st.Migrate(t.Context(), m)
	require.NoError(t, err)
	require.False(t, exists(), "step 2 dropped it")
	neo4jtest.Exec(t, create, nil)
	require.True(t, exists())

	from, to, err := st.Migrate(t.Context(), m)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2}, []int{from, to}, "no step ran")
	assert.False(t, exists(), "the index that came back is dropped")
}

// Several provgraph instances starting together against a new database all succeed
// and agree on the version.
func TestConcurrentMigrationsConverge(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	m := store.Migrator{Component: "test-" + tk, Migrations: []store.Migration{
		{Version: 1, Description: "index", Statements: []string{
			"CREATE INDEX c_" + tk + " IF NOT EXISTS FOR (n:MigrationTest_" + tk + ") ON (n.c)",
		}, Indexes: []string{"c_" + tk}},
		{Version: 2, Description: "constraint", Statements: []string{
			"CREATE CONSTRAINT d_" + tk + " IF NOT EXISTS FOR (n:MigrationTest_" + tk + ") REQUIRE n.d IS UNIQUE",
		}, Indexes: []string{"d_" + tk}},
	}}
	t.Cleanup(func() {
		neo4jtest.Exec(t, "DROP INDEX c_"+tk+" IF EXISTS", nil)
		neo4jtest.Exec(t, "DROP CONSTRAINT d_"+tk+" IF EXISTS", nil)
		neo4jtest.Exec(t, "MATCH (s:SchemaVersion {component: $c}) DELETE s", map[string]any{"c": m.Component})
	})
	migrateTogether(t, st, m, 4)
}

// migrateTogether runs m's migrations as n instances starting at once would, and
// requires every one to succeed and the database to be ready.
func migrateTogether(t *testing.T, st *store.Store, m store.Migrator, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = st.Migrate(t.Context(), m)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "instance %d", i)
	}
	require.NoError(t, st.Ready(t.Context(), m))
}

// A step that replaces an earlier step's index with an equivalent one under another
// name (as schema version 14 does with the full-text index): instances starting together
// on a new database all succeed and end with the new index only, although one of them
// may create the old index just after another dropped it (the step checks and runs
// again). A step whose statements leave a retired index in place fails and is not
// recorded, so it runs again on the next start.
func TestMigrationReplacingAnIndexConverges(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	on := " FOR (n:MigrationTest_" + tk + ") ON (n.x)"
	a, b := "a_"+tk, "b_"+tk
	m := store.Migrator{Component: "test-" + tk, Migrations: []store.Migration{
		{Version: 1, Description: "first", Statements: []string{"CREATE INDEX " + a + " IF NOT EXISTS" + on}, Indexes: []string{a}},
		{Version: 2, Description: "replace", Statements: []string{"DROP INDEX " + a + " IF EXISTS", "CREATE INDEX " + b + " IF NOT EXISTS" + on},
			Indexes: []string{b}, Retired: []string{a}},
	}}
	t.Cleanup(func() {
		neo4jtest.Exec(t, "DROP INDEX "+a+" IF EXISTS", nil)
		neo4jtest.Exec(t, "DROP INDEX "+b+" IF EXISTS", nil)
		neo4jtest.Exec(t, "MATCH (s:SchemaVersion {component: $c}) DELETE s", map[string]any{"c": m.Component})
	})
	indexes := func() []string {
		res := neo4jtest.Exec(t, "SHOW INDEXES YIELD name WHERE name IN $names RETURN name ORDER BY name", map[string]any{"names": []string{a, b}})
		var names []string
		for _, r := range res.Records {
			n, _ := r.Get("name")
			names = append(names, n.(string))
		}
		return names
	}

	migrateTogether(t, st, m, 6)
	assert.Equal(t, []string{b}, indexes())

	// Back to the old index at version 1; a step that does not drop it fails.
	neo4jtest.Exec(t, "DROP INDEX "+b, nil)
	neo4jtest.Exec(t, "CREATE INDEX "+a+on, nil)
	neo4jtest.Exec(t, "MATCH (s:SchemaVersion {component: $c}) SET s.version = 1", map[string]any{"c": m.Component})
	broken := store.Migrator{Component: m.Component, Migrations: []store.Migration{m.Migrations[0],
		{Version: 2, Description: "replace, without the drop", Statements: m.Migrations[1].Statements[1:], Indexes: []string{b}, Retired: []string{a}}}}
	_, _, err := st.Migrate(t.Context(), broken)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "which the step drops, exist")
	v, err := st.Version(t.Context(), m)
	require.NoError(t, err)
	assert.Equal(t, 1, v, "the failed step is not recorded")
	assert.Equal(t, []string{a}, indexes())
	_, to, err := st.Migrate(t.Context(), m)
	require.NoError(t, err)
	assert.Equal(t, 2, to)
	assert.Equal(t, []string{b}, indexes())
}

// The schema's migrations are numbered 1, 2, 3, … in the order they run: a migration
// appended with a taken or skipped number would be applied out of order, or never.
func TestSchemaMigrationsAreOrdered(t *testing.T) {
	t.Parallel()
	for i, m := range store.Schema.Migrations {
		assert.Equal(t, i+1, m.Version, "migration %d (%s)", i, m.Description)
	}
	assert.Equal(t, len(store.Schema.Migrations), store.Schema.Latest())
}
