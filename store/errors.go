package store

import (
	"errors"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// isConstraintViolation says whether err is Neo4j refusing a write that would break a
// uniqueness constraint: another transaction created the same node first.
func isConstraintViolation(err error) bool {
	var nerr *neo4j.Neo4jError
	return errors.As(err, &nerr) && nerr.Code == "Neo.ClientError.Schema.ConstraintValidationFailed"
}

func notFound(field, key string) error {
	return apperr.Missing(field, "no node has ID %q", truncateForMessage(key))
}
