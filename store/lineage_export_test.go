package store

import (
	"context"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// LineageFoldedAndApart answers q twice: as Lineage does (with the edges folded into
// the first statement when the plan allows it, which folds says, and that statement
// sent alone), and in one read transaction with the edges always fetched in a
// statement of their own, for tests that hold the two to the same answer.
func LineageFoldedAndApart(ctx context.Context, s *Store, q LineageQuery) (folded, apart Lineage, folds bool, err error) {
	if folded, err = s.Lineage(ctx, q); err != nil {
		return folded, apart, folds, err
	}
	apart, err = read(ctx, s, func(tx neo4j.ManagedTransaction) (Lineage, error) {
		p, err := planLineage(q, time.Now())
		if err != nil {
			return Lineage{}, err
		}
		folds, p.fold, p.single = p.fold, false, false
		return answerLineage(ctx, tx, p)
	})
	return folded, apart, folds, err
}
