package store

import (
	"context"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// LineageFoldedAndApart answers q twice: as Lineage does (with the edges folded into
// the first round trip when the plan allows it, which folds says), and with the edges
// always fetched in a round trip of their own, for tests that hold the two to the
// same answer.
func LineageFoldedAndApart(ctx context.Context, s *Store, q LineageQuery) (folded, apart Lineage, folds bool, err error) {
	answer := func(fold bool) (Lineage, error) {
		return read(ctx, s, func(tx neo4j.ManagedTransaction) (Lineage, error) {
			p, err := planLineage(q, time.Now())
			if err != nil {
				return Lineage{}, err
			}
			folds = p.fold
			p.fold = p.fold && fold
			return answerLineage(ctx, tx, p)
		})
	}
	if folded, err = answer(true); err != nil {
		return folded, apart, folds, err
	}
	apart, err = answer(false)
	return folded, apart, folds, err
}
