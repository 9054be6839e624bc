package mlmd

import (
	"context"
	"database/sql"
	"fmt"
)

// The SQL below is one dialect for SQLite and MySQL alike: back-quoted names, '?'
// placeholders, keyset paging by id. Table and column names are constants.

// mlmdType is a row of the Type table with its base type (ParentType), if any.
type mlmdType struct {
	id   int64
	name string
	kind int
	base string
}

// mlmdContext is a row of the Context table with its parents (ParentContext).
type mlmdContext struct {
	id, typeID int64
	name       string
	created    int64
	parents    []int64
}

// row is an artifact or execution row. For an execution, uri is empty and state is
// last_known_state.
type row struct {
	id, typeID       int64
	uri, name, extID sql.NullString
	state            sql.NullInt64
	created, updated int64
}

type eventRow struct {
	id, artifactID, executionID, kind int64
	at                                sql.NullInt64
}

// property is a row of an *Property table.
type property struct {
	owner  int64
	name   string
	custom bool
	value  any
	// err: the value could not be decoded; the owner's record reports it.
	err error
}

// table names the tables and columns one kind of node is read from.
type table struct {
	rows, props, propOwner, links, linkOwner string
	selectRow                                string
}

var (
	artifactTable = table{
		rows: "Artifact", props: "ArtifactProperty", propOwner: "artifact_id",
		links: "Attribution", linkOwner: "artifact_id",
		selectRow: "SELECT `id`, `type_id`, `uri`, `name`, `external_id`, `state`, `create_time_since_epoch`, `last_update_time_since_epoch` " +
			"FROM `Artifact` WHERE `id` > ? ORDER BY `id` LIMIT ?",
	}
	executionTable = table{
		rows: "Execution", props: "ExecutionProperty", propOwner: "execution_id",
		links: "Association", linkOwner: "execution_id",
		selectRow: "SELECT `id`, `type_id`, NULL, `name`, `external_id`, `last_known_state`, `create_time_since_epoch`, `last_update_time_since_epoch` " +
			"FROM `Execution` WHERE `id` > ? ORDER BY `id` LIMIT ?",
	}
)

func (t table) selectProps() string {
	return "SELECT `" + t.propOwner + "`, `name`, `is_custom_property`, `int_value`, `double_value`, `string_value`, `byte_value`, `proto_value`, `bool_value` " +
		"FROM `" + t.props + "` WHERE `" + t.propOwner + "` BETWEEN ? AND ? ORDER BY `" + t.propOwner + "`, `is_custom_property`, `name`"
}

func (t table) selectLinks() string {
	return "SELECT `" + t.linkOwner + "`, `context_id` FROM `" + t.links + "` WHERE `" + t.linkOwner + "` BETWEEN ? AND ? ORDER BY `" + t.linkOwner + "`, `context_id`"
}

const (
	selectTypes = "SELECT t.`id`, t.`name`, t.`type_kind`, b.`name` FROM `Type` t " +
		"LEFT JOIN `ParentType` p ON p.`type_id` = t.`id` LEFT JOIN `Type` b ON b.`id` = p.`parent_type_id` ORDER BY t.`id`, b.`id`"
	selectContexts       = "SELECT `id`, `type_id`, `name`, `create_time_since_epoch` FROM `Context` ORDER BY `id`"
	selectParentContexts = "SELECT `context_id`, `parent_context_id` FROM `ParentContext` ORDER BY `context_id`, `parent_context_id`"
	selectEvents         = "SELECT `id`, `artifact_id`, `execution_id`, `type`, `milliseconds_since_epoch` FROM `Event` WHERE `id` > ? ORDER BY `id` LIMIT ?"
	// selectOutputKeys finds the channel an artifact was output on: the first key step of
	// the path of its first output event.
	selectOutputKeys = "SELECT e.`artifact_id`, p.`step_key` FROM `Event` e JOIN `EventPath` p ON p.`event_id` = e.`id` " +
		"WHERE e.`type` IN (1, 4, 6) AND p.`is_index_step` = 0 AND e.`artifact_id` BETWEEN ? AND ? ORDER BY e.`artifact_id`, e.`id`"
	// selectInputsOf lists the artifacts an execution read (INPUT, DECLARED_INPUT, INTERNAL_INPUT).
	selectInputsOf = "SELECT DISTINCT `artifact_id` FROM `Event` WHERE `execution_id` = ? AND `type` IN (2, 3, 5) ORDER BY `artifact_id`"
)

// query runs a read and hands each row to scan.
func (s *Source) query(ctx context.Context, what, q string, scan func(*sql.Rows) error, args ...any) (err error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", what, s.Name, err)
	}
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("read %s from %s: %w", what, s.Name, cerr)
		}
	}()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read %s from %s: %w", what, s.Name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s from %s: %w", what, s.Name, err)
	}
	return nil
}

func (s *Source) types(ctx context.Context) (map[int64]mlmdType, error) {
	out := map[int64]mlmdType{}
	err := s.query(ctx, "types", selectTypes, func(r *sql.Rows) error {
		var t mlmdType
		var base sql.NullString
		if err := r.Scan(&t.id, &t.name, &t.kind, &base); err != nil {
			return err
		}
		if _, seen := out[t.id]; !seen { // a type with several parents keeps the first
			t.base = base.String
			out[t.id] = t
		}
		return nil
	})
	return out, err
}

func (s *Source) contexts(ctx context.Context) (map[int64]*mlmdContext, error) {
	out := map[int64]*mlmdContext{}
	err := s.query(ctx, "contexts", selectContexts, func(r *sql.Rows) error {
		c := &mlmdContext{}
		if err := r.Scan(&c.id, &c.typeID, &c.name, &c.created); err != nil {
			return err
		}
		out[c.id] = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.query(ctx, "parent contexts", selectParentContexts, func(r *sql.Rows) error {
		var child, parent int64
		if err := r.Scan(&child, &parent); err != nil {
			return err
		}
		if c := out[child]; c != nil {
			c.parents = append(c.parents, parent)
		}
		return nil
	})
	return out, err
}

func (s *Source) rows(ctx context.Context, t table, after int64, limit int) ([]row, error) {
	var out []row
	err := s.query(ctx, t.rows+" rows", t.selectRow, func(r *sql.Rows) error {
		var x row
		if err := r.Scan(&x.id, &x.typeID, &x.uri, &x.name, &x.extID, &x.state, &x.created, &x.updated); err != nil {
			return err
		}
		out = append(out, x)
		return nil
	}, after, limit)
	return out, err
}

func (s *Source) properties(ctx context.Context, t table, lo, hi int64) (map[int64][]property, error) {
	out := map[int64][]property{}
	err := s.query(ctx, t.props+" rows", t.selectProps(), func(r *sql.Rows) error {
		var (
			p       property
			custom  sql.NullInt64
			i       sql.NullInt64
			d       sql.NullFloat64
			str     sql.NullString
			b, prot []byte
			boolean sql.NullInt64
		)
		if err := r.Scan(&p.owner, &p.name, &custom, &i, &d, &str, &b, &prot, &boolean); err != nil {
			return err
		}
		p.custom = custom.Int64 != 0
		p.value, p.err = propertyValue(i, d, str, b, prot, boolean)
		out[p.owner] = append(out[p.owner], p)
		return nil
	}, lo, hi)
	return out, err
}

func (s *Source) links(ctx context.Context, t table, lo, hi int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	err := s.query(ctx, t.links+" rows", t.selectLinks(), func(r *sql.Rows) error {
		var owner, c int64
		if err := r.Scan(&owner, &c); err != nil {
			return err
		}
		out[owner] = append(out[owner], c)
		return nil
	}, lo, hi)
	return out, err
}

func (s *Source) outputKeys(ctx context.Context, lo, hi int64) (map[int64]string, error) {
	out := map[int64]string{}
	err := s.query(ctx, "output event paths", selectOutputKeys, func(r *sql.Rows) error {
		var a int64
		var key sql.NullString
		if err := r.Scan(&a, &key); err != nil {
			return err
		}
		if _, seen := out[a]; !seen && key.Valid {
			out[a] = key.String
		}
		return nil
	}, lo, hi)
	return out, err
}

func (s *Source) events(ctx context.Context, after int64, limit int) ([]eventRow, error) {
	var out []eventRow
	err := s.query(ctx, "events", selectEvents, func(r *sql.Rows) error {
		var e eventRow
		if err := r.Scan(&e.id, &e.artifactID, &e.executionID, &e.kind, &e.at); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	}, after, limit)
	return out, err
}

func (s *Source) inputsOf(ctx context.Context, execution int64) ([]int64, error) {
	var out []int64
	err := s.query(ctx, "inputs of an execution", selectInputsOf, func(r *sql.Rows) error {
		var a int64
		if err := r.Scan(&a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	}, execution)
	return out, err
}
