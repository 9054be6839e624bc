package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Bookmarks is what one request knows of Neo4j's causal order: the bookmarks its client
// sent (of writes it made earlier, perhaps through another provgraph process) and those
// of the write transactions it has committed since. Every transaction the request runs
// starts after all of them, on whichever server of a cluster it lands, so a client that
// sends back what a write answered reads that write through any replica. The driver's
// process-wide bookmark manager keeps doing the same within one process.
//
// A request's Bookmarks travel in its context (WithBookmarks); the store fills and
// consults them in every transaction. Bookmarks are opaque strings of Neo4j's; the
// store neither parses nor trusts them: Neo4j refusing one, or not reaching the
// transaction it names in time (AwaitBookmarks), is INVALID_ARGUMENT on Field.
type Bookmarks struct {
	// field names where the sent bookmarks came from, for errors ("X-…" header).
	field string
	sent  []string

	mu        sync.Mutex
	committed []string
}

// NewBookmarks returns a request's bookmarks, seeded with those its client sent (none
// is fine) from field, which errors about them name.
func NewBookmarks(field string, sent []string) *Bookmarks {
	return &Bookmarks{field: field, sent: slices.Clone(sent)}
}

// Committed returns the bookmarks of the write transactions committed so far under b,
// in a stable order; none when there were none. A transaction started after all of
// them sees every one of those writes.
func (b *Bookmarks) Committed() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.committed)
	slices.Sort(out)
	return out
}

// known is every bookmark a transaction under b must start after.
func (b *Bookmarks) known() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append(slices.Clone(b.sent), b.committed...)
}

// wrote records that a write transaction that started after previous committed with
// next: next supersedes previous, as in the driver's own bookmark manager.
func (b *Bookmarks) wrote(previous, next []string) {
	if len(next) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.committed = slices.DeleteFunc(b.committed, func(s string) bool { return slices.Contains(previous, s) })
	for _, s := range next {
		if !slices.Contains(b.committed, s) {
			b.committed = append(b.committed, s)
		}
	}
}

type bookmarksKey struct{}

// WithBookmarks returns ctx whose transactions start after b's bookmarks and record
// their own in b.
func WithBookmarks(ctx context.Context, b *Bookmarks) context.Context {
	return context.WithValue(ctx, bookmarksKey{}, b)
}

// BookmarksFrom returns the bookmarks ctx carries, or nil.
func BookmarksFrom(ctx context.Context) *Bookmarks {
	b, _ := ctx.Value(bookmarksKey{}).(*Bookmarks)
	return b
}

// DefaultBookmarkWait is how long AwaitBookmarks waits for Neo4j to reach the
// transactions a client's bookmarks name when Config.BookmarkWait is not set. A
// bookmark this service issued is reached at once on one server and within the
// replication lag (milliseconds) on a cluster's readers; one that names a transaction
// the database never committed would make Neo4j wait for it, holding a connection.
const DefaultBookmarkWait = 5 * time.Second

// AwaitBookmarks waits until Neo4j has reached the transactions the bookmarks a
// client sent name, at most Config.BookmarkWait, with one read: a bookmark Neo4j
// refuses, or one it does not reach in that time, is INVALID_ARGUMENT on b's field
// before the request does anything else. Without sent bookmarks it does nothing.
func (s *Store) AwaitBookmarks(ctx context.Context, b *Bookmarks) error {
	if len(b.sent) == 0 {
		return nil
	}
	wait, cancel := context.WithTimeout(WithBookmarks(ctx, b), s.bookmarkWait)
	defer cancel()
	_, err := readOne(wait, s, "RETURN 1", nil, func([]*neo4j.Record) (struct{}, error) { return struct{}{}, nil })
	if err != nil && ctx.Err() == nil && errors.Is(wait.Err(), context.DeadlineExceeded) {
		return &apperr.Error{Code: apperr.InvalidArgument, Field: b.field, Cause: err, Reason: fmt.Sprintf(
			"the graph database has not reached the transactions these bookmarks name within %s: "+
				"send only bookmarks this service returned (or the database is that far behind)", s.bookmarkWait)}
	}
	return err
}

// bookmarkManagerFor is the bookmark manager of a transaction of mode under ctx: the
// driver's process-wide one, joined with the request's bookmarks when ctx carries any.
func (s *Store) bookmarkManagerFor(ctx context.Context, mode TxMode) neo4j.BookmarkManager {
	process := s.driver.ExecuteQueryBookmarkManager()
	if b := BookmarksFrom(ctx); b != nil {
		return requestBookmarkManager{process: process, request: b, write: mode == TxWrite}
	}
	return process
}

// requestBookmarkManager gives a transaction the process's bookmarks and the
// request's, and tells both of the bookmarks it committed with (the request only of a
// write's: a read commits nothing a client would need to see).
type requestBookmarkManager struct {
	process neo4j.BookmarkManager
	request *Bookmarks
	write   bool
}

func (m requestBookmarkManager) GetBookmarks(ctx context.Context) (neo4j.Bookmarks, error) {
	bms, err := m.process.GetBookmarks(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range m.request.known() {
		if !slices.Contains(bms, s) {
			bms = append(bms, s)
		}
	}
	return bms, nil
}

func (m requestBookmarkManager) UpdateBookmarks(ctx context.Context, previous, next neo4j.Bookmarks) error {
	if m.write {
		m.request.wrote(previous, next)
	}
	return m.process.UpdateBookmarks(ctx, previous, next)
}

// invalidBookmark is Neo4j refusing a bookmark a request sent as INVALID_ARGUMENT on the
// field the bookmarks came from; other errors pass through.
func invalidBookmark(ctx context.Context, err error) error {
	var nerr *neo4j.Neo4jError
	if !errors.As(err, &nerr) || !strings.HasPrefix(nerr.Code, "Neo.ClientError.Transaction.InvalidBookmark") {
		return err
	}
	field := "bookmarks"
	if b := BookmarksFrom(ctx); b != nil {
		field = b.field
	}
	return &apperr.Error{Code: apperr.InvalidArgument, Field: field, Cause: err,
		Reason: "the graph database does not accept these bookmarks: send only bookmarks this service returned"}
}
