package store

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Run groups after the fact: a run started on its own (in the default experiment, as a
// client that names no experiment starts one) joins a run group later, and leaves it.
// A run belongs to one experiment: joining a group of another experiment moves a run
// only out of the default experiment, and only while it is in no group there.

const (
	cypherRunGroupsNamed = `
MATCH (g:` + string(KindRunGroup) + `)
WHERE g.name = $name
RETURN collect(g {.*}) AS groups`

	cypherRunInGroup = `
MATCH (:` + LabelNode + ` {key: $run})-[:` + RelInGroup + `]->(g:` + LabelNode + ` {key: $group})
RETURN g`

	// cypherMoveRun moves a run, locked first, into another experiment: its membership
	// and the experiment id kept on it, on its parameters' and metrics' records (the
	// searches' indexes start with it).
	cypherMoveRun = `
MATCH (r:` + LabelNode + ` {key: $run})-[old:` + RelInExperiment + `]->(:` + LabelNode + `)
MATCH (e:` + LabelNode + ` {key: $experiment})
SET r._lock_ = true
REMOVE r._lock_
WITH r, old, e, r {.experimentId} AS before
DELETE old
CREATE (r)-[:` + RelInExperiment + `]->(e)
SET r.experimentId = e.experimentId, r.updatedAt = datetime.transaction(), r.updatedBy = $actor
WITH r, e, before
CALL (r, e) {
  OPTIONAL MATCH (r)-[h:` + RelHasParam + `]->()
  SET h.exp = e.experimentId
}
CALL (r, e) {
  OPTIONAL MATCH (r)-[:` + RelHasMetric + `]->(m:` + LabelMetricSeries + `)
  SET m.exp = e.experimentId
}
RETURN r, before`

	cypherJoinGroup = `
MATCH (r:` + LabelNode + ` {key: $run}), (g:` + LabelNode + ` {key: $group})
MERGE (r)-[m:` + RelInGroup + `]->(g)
  ON CREATE SET m.recordedAt = datetime.transaction(), m.recordedBy = $actor
RETURN r`

	cypherLeaveGroup = `
MATCH (r:` + LabelNode + ` {key: $run})-[m:` + RelInGroup + `]->(:` + LabelNode + ` {key: $group})
DELETE m
RETURN r`
)

// RunGroupsNamed returns the run groups named name, in every experiment.
func (s *Store) RunGroupsNamed(ctx context.Context, name string) ([]Node, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Node, error) {
		recs, err := collect(ctx, tx, cypherRunGroupsNamed, map[string]any{"name": name})
		if err != nil {
			return nil, fmt.Errorf("run groups named %q: %w", name, err)
		}
		return nodesAt(recs[0], "groups")
	})
}

// AddRunToGroup makes run a member of group, and returns the run. A run already in it
// stays (nothing is written); a run of the default experiment in no group moves to the
// group's experiment; a run of another experiment is INVALID_ARGUMENT.
func (s *Store) AddRunToGroup(ctx context.Context, actor, run, group string) (Node, error) {
	if err := RequireKind("run", run, KindRun, "run:<run id>"); err != nil {
		return Node{}, err
	}
	if err := RequireKind("group", group, KindRunGroup, "runGroup:<experiment id>/<name>"); err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionRunUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(run, group)
		r, err := nodeByKey(ctx, tx, "run", run)
		if err != nil {
			return Node{}, err
		}
		g, err := nodeByKey(ctx, tx, "group", group)
		if err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherRunInGroup, map[string]any{"run": run, "group": group})
		if err != nil {
			return Node{}, fmt.Errorf("membership of %q in %q: %w", run, group, err)
		}
		if len(recs) > 0 {
			return r, nil
		}
		if r.String(propExperimentID) != g.String(propExperimentID) {
			if r, err = moveRun(ctx, tx, au, actor, r, g); err != nil {
				return Node{}, err
			}
		}
		if _, err := collect(ctx, tx, cypherJoinGroup, map[string]any{"run": run, "group": group, "actor": actor}); err != nil {
			return Node{}, fmt.Errorf("add %q to %q: %w", run, group, err)
		}
		return r, nil
	})
}

// moveRun moves r from the default experiment into g's, when r is in no group yet.
func moveRun(ctx context.Context, tx neo4j.ManagedTransaction, au *audit, actor string, r, g Node) (Node, error) {
	if r.String(propExperimentID) != DefaultExperimentID {
		return Node{}, apperr.Invalid("group", "run %q belongs to experiment %q and run group %q to experiment %q: a run belongs to one experiment",
			r.Key, ExperimentKey(r.String(propExperimentID)), g.Key, ExperimentKey(g.String(propExperimentID)))
	}
	recs, err := collect(ctx, tx, cypherGroupOfRun, map[string]any{"key": r.Key})
	if err != nil {
		return Node{}, fmt.Errorf("groups of %q: %w", r.Key, err)
	}
	if len(recs) > 0 {
		return Node{}, apperr.Invalid("group", "run %q is in a run group of the default experiment already; it stays in that experiment", r.Key)
	}
	exp := ExperimentKey(g.String(propExperimentID))
	au.target(exp)
	recs, err = collect(ctx, tx, cypherMoveRun, map[string]any{"run": r.Key, "experiment": exp, "actor": actor})
	if err != nil {
		return Node{}, fmt.Errorf("move %q to %q: %w", r.Key, exp, err)
	}
	old, moved, err := changedNodeAt(recs[0], "r", "before")
	au.changeNode(old, moved, false, propExperimentID)
	return moved, err
}

// RemoveRunFromGroup ends run's membership of group (the run stays in its experiment)
// and returns the run; a run not in the group is NOT_FOUND.
func (s *Store) RemoveRunFromGroup(ctx context.Context, actor, run, group string) (Node, error) {
	if err := RequireKind("run", run, KindRun, "run:<run id>"); err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionRunUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(run, group)
		recs, err := collect(ctx, tx, cypherLeaveGroup, map[string]any{"run": run, "group": group})
		if err != nil {
			return Node{}, fmt.Errorf("remove %q from %q: %w", run, group, err)
		}
		if len(recs) == 0 {
			return Node{}, apperr.Missing("group", "run %q is not in run group %q", run, group)
		}
		return nodeAt(recs[0], "r")
	})
}
