package store

import "github.com/provgraph/provgraph/apperr"

func notFound(field, key string) error {
	return apperr.Missing(field, "no node has ID %q", truncateForMessage(key))
}
